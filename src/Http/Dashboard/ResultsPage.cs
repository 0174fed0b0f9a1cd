using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using ResultGrid.Client;

namespace ResultGrid.Http.Dashboard;

/// <summary>
/// The results list: the store's search (SQL backends: filters, cursor paging over their
/// indexes), or, where nothing is indexed (Redis, memory), the writes this cluster made most
/// recently; new results that match the filters appear at the top as they are written.
/// </summary>
internal static class ResultsPage
{
    public const int PageSize = 50;

    private static readonly string[] Parameters = ["state", "name", "group", "from", "before", "cursor", "limit", "id"];

    public static async Task<IResult> RenderAsync(DashboardPage page, IResultGridClient client, IGrainFactory grains, IAntiforgery antiforgery)
    {
        var request = page.Http.Request;
        if (request.Query["id"].ToString().Trim() is { Length: > 0 } jump)
        {
            return HttpRequests.BadId(jump) is null
                ? Results.Redirect(page.Url("results/" + DashboardPage.Id(jump)))
                : DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Not a task id", IdProblem(jump));
        }

        var filters = Filters.Parse(request.Query);
        if (filters.Problem is { } problem)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Filter not usable", problem);
        }

        var query = filters.Query(page.Http.Request.Query["cursor"].ToString());
        ResultQueryPage? found = null;
        ResultFeedEntry[]? recent = null;
        try
        {
            found = await client.QueryAsync(query, page.Http.RequestAborted);
        }
        catch (NotSupportedException)
        {
            var feed = await grains.GetGrain<IResultFeedGrain>(0).WatchAsync(-1, TimeSpan.Zero);
            recent = Recent(feed.Entries, filters);
        }
        catch (ArgumentException ex)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Filter not usable", ex.Message.Split(" (Parameter")[0]);
        }

        // Live rows only where they belong: the first page, and a date range still open.
        var live = query.PageToken is null && (filters.Before is null || filters.Before > DateTimeOffset.UtcNow)
            ? page.Api + "/feed/events" + filters.LiveQuery
            : null;

        return DashboardLayout.Page(page, "results", "Results", html =>
        {
            FilterForm(html, page, filters);
            html.Open("form", ("id", "jump"), ("method", "get"), ("action", page.Url("results")), ("role", "search"), ("aria-label", "Find a result by id"))
                .Element("label", "Task id", ("for", "jump-id"))
                .Void("input", ("id", "jump-id"), ("name", "id"), ("type", "search"), ("required", string.Empty), ("autocomplete", "off"), ("spellcheck", "false"), ("placeholder", "e.g. 9f3c…"))
                .Element("button", "Open", ("type", "submit"))
                .Close("form");

            if (recent is not null)
            {
                html.Element("p", $"This backend keeps no index to search: below are the most recent results this cluster wrote (up to {IResultFeedGrain.Capacity:N0} writes), newest first. Open any result by its id above.", ("class", "note"), ("data-testid", "recent-note"));
            }

            html.Open("table", ("id", "results"), ("data-mode", recent is null ? "search" : "recent"), ("data-filter-state", filters.State), ("data-filter-name", filters.Name), ("data-filter-group", filters.Group))
                .Element("caption", recent is null ? "Results, newest first" : "Recent writes, newest first", ("class", "visually-hidden"))
                .Open("thead").Open("tr");
            foreach (var column in new[] { "Task id", "State", "Name", recent is null ? "Done" : "Written", "Worker" })
            {
                html.Element("th", column, ("scope", "col"));
            }

            html.Close("tr").Close("thead").Open("tbody");
            if (found is not null)
            {
                foreach (var item in found.Items)
                {
                    Row(html, page, item.Record.TaskId, item.Record.State, item.Record.Name, item.Record.DateDone, item.Record.Worker);
                }
            }

            foreach (var entry in recent ?? [])
            {
                Row(html, page, entry.TaskId, entry.State, entry.Name, entry.At, entry.Worker);
            }

            html.Close("tbody").Close("table");
            var count = found?.Items.Count ?? recent!.Length;
            if (count == 0)
            {
                html.Element("p", "No results match.", ("data-testid", "empty"), ("class", "empty"));
            }

            if (found is { Unreadable.Count: > 0 })
            {
                html.Open("p", ("class", "note")).Text($"{found.Unreadable.Count} stored rows could not be read: ")
                    .Text(string.Join("; ", found.Unreadable.Select(u => $"{u.TaskId} ({u.Field}: {u.Reason})"))).Close("p");
            }

            if (found?.NextPageToken is { } next)
            {
                html.Open("nav", ("aria-label", "Pages"), ("class", "pager"))
                    .Element("a", "Next page", ("rel", "next"), ("href", page.Url("results") + filters.PageQuery(next)))
                    .Close("nav");
            }
        }, live: live, antiforgery: antiforgery);
    }

    public static void Row(Html html, DashboardPage page, string taskId, string state, string? name, DateTimeOffset? at, string? worker) =>
        html.Open("tr", ("data-task-id", taskId))
            .Open("td").Element("a", taskId, ("href", page.Url("results/" + DashboardPage.Id(taskId))), ("class", "mono")).Close("td")
            .Open("td").Element("span", state, ("class", "state"), ("data-state", state), ("data-testid", "state")).Close("td")
            .Element("td", name ?? string.Empty)
            .Open("td").Element("time", Html.Date(at), ("datetime", Html.Iso(at))).Close("td")
            .Element("td", worker ?? string.Empty)
            .Close("tr");

    public static string IdProblem(string id) =>
        $"'{id}' is not a task id: {TaskIds.Check(id)}. Ids are 1 to {TaskIds.MaxLength} characters, with no control characters and no leading or trailing spaces.";

    /// <summary>The newest write of each result that matches, newest first.</summary>
    private static ResultFeedEntry[] Recent(ResultFeedEntry[] entries, Filters filters)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<ResultFeedEntry>();
        for (var i = entries.Length - 1; i >= 0 && rows.Count < PageSize * 4; i--)
        {
            var entry = entries[i];
            if (seen.Add(entry.TaskId) && filters.Matches(entry))
            {
                rows.Add(entry);
            }
        }

        return [.. rows];
    }

    private static void FilterForm(Html html, DashboardPage page, Filters filters)
    {
        html.Open("form", ("id", "filters"), ("method", "get"), ("action", page.Url("results")), ("role", "search"), ("aria-label", "Filter results"))
            .Open("div", ("class", "field"))
            .Element("label", "State", ("for", "f-state"))
            .Open("select", ("id", "f-state"), ("name", "state"))
            .Element("option", "Any", ("value", string.Empty));
        foreach (var state in OverviewPage.States.Where(s => s != TaskStates.Pending))
        {
            html.Element("option", state, ("value", state), ("selected", filters.State == state ? string.Empty : null));
        }

        if (filters.State is { } custom && !OverviewPage.States.Contains(custom, StringComparer.Ordinal))
        {
            html.Element("option", custom, ("value", custom), ("selected", string.Empty));
        }

        html.Close("select").Close("div");
        Input(html, "f-name", "name", "Task name", "text", filters.Name);
        Input(html, "f-group", "group", "Group id", "text", filters.Group);
        Input(html, "f-from", "from", "Done from (UTC)", "datetime-local", Local(filters.From));
        Input(html, "f-before", "before", "Done before (UTC)", "datetime-local", Local(filters.Before));
        html.Open("div", ("class", "field actions"))
            .Element("button", "Filter", ("type", "submit"))
            .Element("a", "Clear", ("href", page.Url("results")))
            .Close("div")
            .Close("form");
    }

    private static void Input(Html html, string id, string name, string label, string type, string? value) =>
        html.Open("div", ("class", "field"))
            .Element("label", label, ("for", id))
            .Void("input", ("id", id), ("name", name), ("type", type), ("value", value ?? string.Empty), ("step", type == "datetime-local" ? "1" : null), ("autocomplete", "off"))
            .Close("div");

    private static string? Local(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>The filters as the form sends them (empty fields are no filter), and as the search and the live stream take them.</summary>
    private sealed record Filters(string? State, string? Name, string? Group, DateTimeOffset? From, DateTimeOffset? Before, int Limit, string? Problem)
    {
        public static Filters Parse(IQueryCollection query)
        {
            if (query.Keys.FirstOrDefault(k => !Parameters.Contains(k, StringComparer.Ordinal)) is { } unknown)
            {
                return Fail($"'{unknown}' is not a filter; the filters are {string.Join(", ", Parameters)}.");
            }

            string? Text(string key) => query[key].ToString().Trim() is { Length: > 0 } t ? t : null;
            var state = Text("state");
            if (state is not null && !TaskStates.IsBuiltIn(state))
            {
                try
                {
                    TaskStates.ValidateCustom(state);
                }
                catch (ArgumentException)
                {
                    return Fail($"'{state}' is not a state. States: STARTED, RETRY, SUCCESS, FAILURE, REVOKED, or a custom state in capitals such as PROGRESS.");
                }
            }

            var (from, fromProblem) = Date(Text("from"), "from");
            var (before, beforeProblem) = Date(Text("before"), "before");
            if ((fromProblem ?? beforeProblem) is { } dateProblem)
            {
                return Fail(dateProblem);
            }

            var limit = PageSize;
            if (Text("limit") is { } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > ResultQuery.MaxPageSize))
            {
                return Fail($"limit is '{limitText}'; it must be a whole number from 1 to {ResultQuery.MaxPageSize}.");
            }

            if (Text("group") is { } group && HttpRequests.BadId(group, "group id") is not null)
            {
                return Fail(IdProblem(group).Replace("task id", "group id", StringComparison.Ordinal));
            }

            return new Filters(state, Text("name"), Text("group"), from, before, limit, null);
        }

        private static Filters Fail(string problem) => new(null, null, null, null, null, PageSize, problem);

        private static (DateTimeOffset?, string?) Date(string? text, string name)
        {
            if (text is null)
            {
                return (null, null);
            }

            // datetime-local sends no zone: the form says UTC, and so it is read.
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
                ? (value, null)
                : (null, $"{name} is '{text}', which is not a date and time; give e.g. 2026-12-01T00:00 (UTC).");
        }

        public ResultQuery Query(string cursor) => new()
        {
            States = State is null ? null : [State],
            Name = Name,
            GroupId = Group,
            DoneFrom = From,
            DoneBefore = Before,
            PageSize = Limit,
            PageToken = cursor.Length == 0 ? null : cursor,
        };

        public bool Matches(ResultFeedEntry entry) =>
            (State is null || entry.State == State) &&
            (Name is null || entry.Name == Name) &&
            (Group is null || entry.GroupId == Group) &&
            (From is null || entry.At >= From) &&
            (Before is null || entry.At < Before);

        private IEnumerable<(string, string)> Pairs()
        {
            if (State is not null) yield return ("state", State);
            if (Name is not null) yield return ("name", Name);
            if (Group is not null) yield return ("group", Group);
            if (From is not null) yield return ("from", Html.Iso(From));
            if (Before is not null) yield return ("before", Html.Iso(Before));
            if (Limit != PageSize) yield return ("limit", Limit.ToString(CultureInfo.InvariantCulture));
        }

        private static string Encode(IEnumerable<(string Key, string Value)> pairs)
        {
            var text = string.Join("&", pairs.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value)));
            return text.Length == 0 ? string.Empty : "?" + text;
        }

        public string PageQuery(string cursor) => Encode(Pairs().Append(("cursor", cursor)));

        /// <summary>The filters the live stream applies itself (the date range is the page's to judge).</summary>
        public string LiveQuery => Encode(Pairs().Where(p => p.Item1 is "state" or "name" or "group"));
    }
}
