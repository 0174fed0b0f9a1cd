using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Http;

/// <summary>results/{id}: read, wait, stream, write, forget, revoke; and the search.</summary>
internal static class ResultEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var results = v1.MapGroup("/results").WithTags("Results");
        results.MapGet("/{id}", GetAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("GetResult").WithSummary("A result: state, value, meta, failure, extended fields, existence. ?raw=true: the stored bytes.")
            .Produces<ResultView>().Produces(StatusCodes.Status304NotModified).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        results.MapGet("/{id}/wait", WaitAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("WaitResult").WithSummary("Long-poll: answered the moment the result is READY, or at ?timeout=SECONDS with ready: false.")
            .Produces<ResultView>().ProducesProblem(StatusCodes.Status400BadRequest);
        results.MapGet("/{id}/events", EventsAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("ResultEvents").WithSummary("Server-sent events: the result now, then each state change (PROGRESS meta included) until READY.")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents.ContentType);
        results.MapPut("/{id}", PutAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Write))
            .WithName("PutResult").WithSummary("Stores a state (result, meta or error), as a worker does. A stored SUCCESS is never replaced.")
            .WithJsonBody<WriteRequest>().Produces<WriteAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        results.MapDelete("/{id}", ForgetAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Operate))
            .WithName("ForgetResult").WithSummary("Deletes the stored result (Celery's forget).").Produces<ForgetAnswer>();
        results.MapPost("/{id}/revoke", RevokeAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Operate))
            .WithName("RevokeResult").WithSummary("Stores REVOKED with an optional reason. A stored SUCCESS is never replaced.")
            .WithJsonBody<RevokeRequest>().Produces<WriteAnswer>();
        results.MapGet("/", SearchAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("SearchResults").WithSummary("Search by state, name, group and date done, newest first, with cursor paging (SQL backends).")
            .Produces<SearchPage>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status501NotImplemented);
        results.MapGet("/{id}/history", HistoryAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("ResultHistory").WithSummary("The result's state changes, oldest first (ResultGrid:History:Enabled); enabled: false and no entries while history is off.")
            .Produces<HistoryView>().ProducesProblem(StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IResultGridClient client, ResultViews views)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        // Read here rather than bound: a bound bool that does not parse is an empty 400.
        var rawText = context.Request.Query["raw"].ToString();
        if (rawText.Length > 0 && !bool.TryParse(rawText, out _))
        {
            return HttpProblems.BadRequest($"raw is '{rawText}'; give raw=true for the stored bytes, or raw=false (the default) for the JSON view.");
        }

        var raw = rawText.Length > 0 && bool.Parse(rawText);

        var ct = context.RequestAborted;
        var info = await client.GetAsync(id, ct);
        var version = "\"" + TaskResultVersion.Of(info.Record) + "\"";
        context.Response.Headers.ETag = version;
        context.Response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && (v == version || (v == "*" && info.State != TaskStates.Pending) || v.Split(',').Select(t => t.Trim()).Contains(version))))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        if (raw)
        {
            if (info.Record.Payload is not { } payload || info.Record.Problem is not null)
            {
                return HttpProblems.NotFound(info.Record.Problem is { } p
                    ? $"Task '{id}' has a damaged record ({p.Field}: {p.Reason}), so there are no stored bytes to give."
                    : $"Task '{id}' is {info.State} with no stored value.");
            }

            if (ResultCompression.IsKnownEncoding(payload.ContentEncoding))
            {
                context.Response.Headers.ContentEncoding = payload.ContentEncoding;
            }

            return Results.Bytes(payload.Data, payload.ContentType);
        }

        var existence = ResultViews.NeedsExistence(info.Record) ? await client.GetExistenceAsync(id, ct) : (ResultExistence?)null;
        return HttpJson.Ok(views.View(info, existence));
    }

    private static async Task<IResult> WaitAsync(string id, HttpContext context, IResultGridClient client, ResultViews views, HttpRequests requests)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        var (timeout, problem) = requests.Timeout(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        // The request's abort token goes into the grain call: a client that disconnects cancels
        // its wait in the result grain, which drops the waiter at once.
        var info = await client.WaitUntilReadyAsync(id, timeout, context.RequestAborted);
        var existence = ResultViews.NeedsExistence(info.Record) ? await client.GetExistenceAsync(id, context.RequestAborted) : (ResultExistence?)null;
        return HttpJson.Ok(views.View(info, existence));
    }

    private static async Task EventsAsync(string id, HttpContext context, IResultGridClient client, ResultViews views, HttpRequests requests)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            await bad.ExecuteAsync(context);
            return;
        }

        var ct = context.RequestAborted;
        await using var changes = client.WatchAsync(id, ct).GetAsyncEnumerator(ct);
        var stream = await ServerSentEvents.StartAsync(context);
        await stream.RunAsync(
            changes,
            requests.KeepAlive,
            async info =>
            {
                await stream.WriteAsync("state", TaskResultVersion.Of(info.Record), views.View(info), ct);
                return !(info.IsReady || info.IsConsumed);
            },
            ct);
    }

    private static async Task<IResult> PutAsync(string id, HttpContext context, IResultGridClient client, HttpRequests requests)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        var (body, problem) = await requests.JsonBodyAsync(context.Request, optional: false, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (body)
        {
            var (record, expires, invalid) = WriteRequest.Read(id, body!.RootElement);
            if (invalid is not null)
            {
                return HttpProblems.BadRequest(invalid);
            }

            var outcome = await client.WriteAsync(record!, expires, context.RequestAborted);
            return HttpJson.Ok(Answer(id, record!.State, outcome));
        }
    }

    private static async Task<IResult> ForgetAsync(string id, HttpContext context, IResultGridClient client)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        return HttpJson.Ok(new ForgetAnswer(id, await client.ForgetAsync(id, context.RequestAborted)));
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext context, IResultGridClient client, HttpRequests requests)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        var (body, problem) = await requests.JsonBodyAsync(context.Request, optional: true, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        string? reason = null;
        using (body)
        {
            if (body is not null)
            {
                foreach (var property in body.RootElement.EnumerateObject())
                {
                    if (property.Name != "reason" || property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        return HttpProblems.BadRequest($"The revoke body has '{property.Name}' ({property.Value.ValueKind}); it takes only \"reason\", a string.");
                    }

                    reason = property.Value.GetString();
                }
            }
        }

        var outcome = await client.MarkRevokedAsync(id, reason, cancellationToken: context.RequestAborted);
        return HttpJson.Ok(Answer(id, TaskStates.Revoked, outcome));
    }

    private static async Task<IResult> SearchAsync(HttpContext context, IResultGridClient client)
    {
        var (query, problem) = SearchQuery(context.Request.Query);
        if (problem is not null)
        {
            return problem;
        }

        var page = await client.QueryAsync(query!, context.RequestAborted);
        return HttpJson.Ok(new SearchPage(
            page.Items.Select(i => ResultViews.Summary(i.Record)).ToArray(),
            page.NextPageToken,
            page.Unreadable.Select(u => new UnreadableView(u.TaskId, u.Field, u.Reason)).ToArray()));
    }

    private static readonly string[] SearchParameters = ["state", "name", "group", "from", "before", "cursor", "limit"];

    internal static (ResultQuery? Query, IResult? Problem) SearchQuery(IQueryCollection query)
    {
        if (query.Keys.FirstOrDefault(k => !SearchParameters.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            return (null, HttpProblems.BadRequest($"'{unknown}' is not a search parameter; the parameters are {string.Join(", ", SearchParameters)}."));
        }

        var states = query["state"].Where(s => !string.IsNullOrEmpty(s)).SelectMany(s => s!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        foreach (var state in states)
        {
            if (!TaskStates.IsBuiltIn(state) && TaskStates.IsBuiltIn(state.ToUpperInvariant()))
            {
                return (null, HttpProblems.BadRequest($"state '{state}' is not a state; states are case-sensitive: did you mean {state.ToUpperInvariant()}?"));
            }

            if (!TaskStates.IsBuiltIn(state))
            {
                try
                {
                    TaskStates.ValidateCustom(state);
                }
                catch (ArgumentException ex)
                {
                    return (null, HttpProblems.BadRequest($"state '{state}' is not a state: {ex.Message.Split(" (Parameter")[0]} Built-in states: PENDING, STARTED, RETRY, FAILURE, SUCCESS, REVOKED."));
                }
            }
        }

        var limit = 100;
        if (query["limit"].ToString() is { Length: > 0 } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > ResultQuery.MaxPageSize))
        {
            return (null, HttpProblems.BadRequest($"limit is '{limitText}'; it must be a whole number from 1 to {ResultQuery.MaxPageSize}."));
        }

        var (from, fromProblem) = Date(query, "from");
        var (before, beforeProblem) = Date(query, "before");
        if ((fromProblem ?? beforeProblem) is { } dateProblem)
        {
            return (null, dateProblem);
        }

        var result = new ResultQuery
        {
            States = states.Length == 0 ? null : states,
            Name = NullIfEmpty(query["name"].ToString()),
            GroupId = NullIfEmpty(query["group"].ToString()),
            DoneFrom = from,
            DoneBefore = before,
            PageSize = limit,
            PageToken = NullIfEmpty(query["cursor"].ToString()),
        };
        return result.Validate() is { } invalid ? (null, HttpProblems.BadRequest(invalid)) : (result, null);
    }

    private static (DateTimeOffset? Value, IResult? Problem) Date(IQueryCollection query, string name)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return (null, null);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? (value, null)
            : (null, HttpProblems.BadRequest($"{name} is '{text}', which is not a date and time; give ISO 8601, e.g. 2026-12-01T00:00:00Z."));
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    internal static WriteAnswer Answer(string id, string state, WriteOutcome outcome) => outcome switch
    {
        WriteOutcome.Stored => new WriteAnswer(id, state, "stored", true, $"{state} is stored."),
        WriteOutcome.KeptSuccess => new WriteAnswer(id, state, "keptSuccess", false, $"Task '{id}' already has SUCCESS stored, which is never replaced; the {state} write changed nothing."),
        _ => new WriteAnswer(id, state, "alreadyConsumed", false, $"Task '{id}' was already handed out once (single retrieval: rpc://, or single_retrieval=true); the {state} write changed nothing."),
    };

    /// <summary>
    /// 200 either way: with history off the answer says so (enabled: false) instead of failing,
    /// so a page can say "history is off" where an error status would read as a fault.
    /// </summary>
    private static async Task<IResult> HistoryAsync(string id, HttpContext context, IResultGridClient client)
    {
        if (HttpRequests.BadId(id) is { } bad)
        {
            return bad;
        }

        try
        {
            var entries = await client.GetHistoryAsync(id, context.RequestAborted);
            return HttpJson.Ok(new HistoryView(id, true, entries.Select(e => new HistoryEntryView(e.State, e.At, e.Worker, e.Retries, e.Reason)).ToArray()));
        }
        catch (NotSupportedException)
        {
            return HttpJson.Ok(new HistoryView(id, false, []));
        }
    }
}

/// <summary>A result's state history, as <c>GET …/results/{id}/history</c> answers.</summary>
internal sealed record HistoryView(string TaskId, bool Enabled, HistoryEntryView[] Entries);

/// <summary>One state change: the state, when, by which worker, at which retry, and why (FAILURE, RETRY, REVOKED).</summary>
internal sealed record HistoryEntryView(string State, DateTimeOffset At, string? Worker, int? Retries, string? Reason);

/// <summary>The body of an optional revoke: a reason.</summary>
internal sealed record RevokeRequest(string? Reason);
