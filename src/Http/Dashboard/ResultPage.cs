using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Http.Dashboard;

/// <summary>One result: state, value tree, meta, failure and traceback, every field, its links, its timeline, and the actions.</summary>
internal static class ResultPage
{
    public static async Task<IResult> RenderAsync(string id, DashboardPage page, IResultGridClient client, IGrainFactory grains, ResultViews views, ResultSerializer serializer, IAntiforgery antiforgery)
    {
        if (TaskIds.Check(id) is not null)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Not a task id", ResultsPage.IdProblem(id));
        }

        var ct = page.Http.RequestAborted;
        var info = await client.GetAsync(id, ct);
        var existence = ResultViews.NeedsExistence(info.Record) ? await client.GetExistenceAsync(id, ct) : (ResultExistence?)null;
        var view = views.View(info, existence);
        var history = await DashboardHistory.ReadAsync(grains, id);
        var done = page.Http.Request.Query["done"].ToString();

        return DashboardLayout.Page(page, "results", "Result", html =>
        {
            html.Open("p", ("class", "subtitle")).Element("code", id, ("class", "mono"), ("data-testid", "task-id")).Close("p");
            if (done is "forgotten" or "revoked")
            {
                html.Element("p", done == "forgotten" ? "The result was forgotten." : "REVOKED was stored.", ("class", "notice"), ("role", "status"), ("data-testid", "action-done"));
            }

            html.Open("p", ("class", "state-line"))
                .Element("span", view.State, ("class", "state"), ("data-state", view.State), ("data-testid", "result-state"))
                .Text(" ").Element("span", view.Existence, ("class", "existence"), ("data-testid", "existence"))
                .Element("span", string.Empty, ("class", "live-note"), ("data-testid", "live-note"), ("role", "status"), ("aria-live", "polite"))
                .Close("p");

            if (page.CanOperate && view.Existence == "stored")
            {
                html.Open("p", ("class", "actions"), ("data-testid", "actions"))
                    .Element("a", "Forget…", ("class", "button danger"), ("href", page.Url($"results/{DashboardPage.Id(id)}/forget")), ("data-testid", "forget"))
                    .Element("a", "Revoke…", ("class", "button"), ("href", page.Url($"results/{DashboardPage.Id(id)}/revoke")), ("data-testid", "revoke"))
                    .Close("p");
            }

            if (view.Problem is { } problem)
            {
                html.Open("p", ("class", "problem"), ("role", "alert"), ("data-testid", "problem")).Element("strong", problem.Field + ": ").Text(problem.Reason).Close("p");
            }

            Value(html, page, id, info.Record, view, serializer);

            if (view.Failure is { } failure)
            {
                html.Open("section", ("aria-labelledby", "failure-title"), ("class", "failure")).Element("h2", "Failure", ("id", "failure-title"))
                    .Open("p", ("data-testid", "failure")).Element("strong", failure.Type).Text(": " + failure.Message).Close("p");
                if (failure.Module is { } module)
                {
                    html.Open("p", ("class", "note")).Text("module ").Element("code", module).Close("p");
                }

                html.Open("p").Element("a", "Download the stored bytes", ("href", page.Api + "/results/" + DashboardPage.Id(id) + "?raw=true"), ("download", id + ".json"), ("data-testid", "download")).Close("p");

                html.Close("section");
            }

            if ((view.Failure?.Traceback ?? view.Traceback) is { Length: > 0 } traceback)
            {
                html.Open("section", ("aria-labelledby", "traceback-title")).Element("h2", "Traceback", ("id", "traceback-title"))
                    .Element("pre", traceback, ("data-testid", "traceback"), ("class", "traceback"), ("tabindex", "0")).Close("section");
            }

            Fields(html, page, view);
            Timeline(html, history);
        }, live: view.Ready ? null : page.Api + "/results/" + DashboardPage.Id(id) + "/events", antiforgery: antiforgery);
    }

    private static void Value(Html html, DashboardPage page, string id, TaskResult record, ResultView view, ResultSerializer serializer)
    {
        if (view.Failure is not null)
        {
            // An exception document is shown as the failure below, with the same download.
            return;
        }

        var title = view.State == TaskStates.Success ? "Value" : "Meta";
        html.Open("section", ("aria-labelledby", "value-title")).Element("h2", title, ("id", "value-title")).Open("div", ("data-testid", view.State == TaskStates.Success ? "value" : "meta"));
        var json = view.Value ?? view.Meta;
        if (json is not null)
        {
            JsonTree.Write(html, json.Utf8, json.NamedLiterals);
        }
        else if (view.ValueBase64 is not null && record.Payload is { } payload)
        {
            html.Element("p", $"A {payload.ContentType} value of {payload.Data.LongLength:N0} bytes{(payload.ContentEncoding is { Length: > 0 } e && e != "utf-8" && e != "binary" ? $" ({e})" : string.Empty)}: not shown, as it is not JSON. Download it to read it with its own decoder.", ("data-testid", "value-binary"), ("class", "note"));
        }
        else if (view.Failure is null)
        {
            html.Element("p", view.State == TaskStates.Pending ? "Nothing is stored for this id (yet)." : "No value.", ("class", "note"));
        }

        html.Close("div");
        if (record.Payload is not null)
        {
            html.Open("p").Element("a", "Download the stored bytes", ("href", page.Api + "/results/" + DashboardPage.Id(id) + "?raw=true"), ("download", id + Extension(record.Payload.ContentType)), ("data-testid", "download")).Close("p");
        }

        html.Close("section");
    }

    private static string Extension(string? contentType) => contentType switch
    {
        JsonResultCodec.MediaType => ".json",
        _ when ResultViews.IsJson(contentType) => ".json",
        _ => ".bin",
    };

    private static void Fields(Html html, DashboardPage page, ResultView view)
    {
        html.Open("section", ("aria-labelledby", "fields-title")).Element("h2", "Fields", ("id", "fields-title")).Open("dl", ("data-testid", "fields"), ("class", "fields"));
        void Field(string name, string? value, string? code = null)
        {
            if (!string.IsNullOrEmpty(value))
            {
                html.Element("dt", name).Open("dd", ("data-field", code ?? name.ToLowerInvariant())).Text(value).Close("dd");
            }
        }

        Field("Name", view.Name);
        Field("Date done", Html.Date(view.DateDone), "date-done");
        Field("Expires", view.ExpiresAt is null ? (view.Existence == "stored" ? "never (or as the backend's own TTL says)" : null) : Html.Date(view.ExpiresAt), "expires");
        Field("Worker", view.Worker);
        Field("Retries", view.Retries?.ToString(CultureInfo.InvariantCulture));
        Field("Queue", view.Queue);
        Field("Content type", view.ContentType, "content-type");
        Field("Args", view.Args is null ? null : Encoding.UTF8.GetString(view.Args.Utf8));
        Field("Kwargs", view.Kwargs is null ? null : Encoding.UTF8.GetString(view.Kwargs.Utf8));
        if (view.GroupId is { } group)
        {
            html.Element("dt", "Group").Open("dd").Element("a", group, ("href", page.Url("groups/" + DashboardPage.Id(group))), ("data-testid", "group-link"), ("class", "mono")).Close("dd");
        }

        if (view.ParentId is { } parent)
        {
            html.Element("dt", "Parent").Open("dd").Element("a", parent, ("href", page.Url("results/" + DashboardPage.Id(parent))), ("data-testid", "parent-link"), ("class", "mono")).Close("dd");
        }

        if (view.Children.Count > 0)
        {
            html.Element("dt", "Children").Open("dd").Open("ul", ("data-testid", "children"), ("class", "plain"));
            foreach (var child in view.Children)
            {
                html.Open("li").Element("a", child, ("href", page.Url("results/" + DashboardPage.Id(child))), ("class", "mono")).Close("li");
            }

            html.Close("ul").Close("dd");
        }

        html.Close("dl").Close("section");
    }

    private static void Timeline(Html html, DashboardHistory history)
    {
        html.Open("section", ("aria-labelledby", "timeline-title")).Element("h2", "Timeline", ("id", "timeline-title"));
        if (!history.Enabled)
        {
            html.Element("p", "State history is off: set ResultGrid:History:Enabled to true to keep every state change beside its result.", ("class", "note"), ("data-testid", "timeline-off"));
        }
        else if (history.Entries.Count == 0)
        {
            html.Element("p", "No state change is recorded for this id.", ("class", "note"), ("data-testid", "timeline-empty"));
        }
        else
        {
            html.Open("ol", ("data-testid", "timeline"), ("class", "timeline"));
            foreach (var entry in history.Entries)
            {
                html.Open("li", ("data-state", entry.State))
                    .Open("time", ("datetime", Html.Iso(entry.At))).Text(Html.Date(entry.At)).Close("time").Text(" ")
                    .Element("span", entry.State, ("class", "state"), ("data-state", entry.State));
                if (entry.Worker is { } worker)
                {
                    html.Text(" on ").Element("span", worker, ("class", "mono"));
                }

                if (entry.Retries is { } retries)
                {
                    html.Text($" · retry {retries}");
                }

                if (entry.Reason is { } reason)
                {
                    html.Text(" · ").Element("span", reason, ("class", "reason"));
                }

                html.Close("li");
            }

            html.Close("ol");
        }

        html.Close("section");
    }

    /// <summary>GET: the confirmation of forget or revoke; POST: the action itself.</summary>
    public static IResult Confirm(string id, string action, DashboardPage page, IAntiforgery antiforgery)
    {
        if (TaskIds.Check(id) is not null)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Not a task id", ResultsPage.IdProblem(id));
        }

        var tokens = page.Antiforgery(antiforgery);
        var forget = action == "forget";
        return DashboardLayout.Page(page, "results", forget ? "Forget this result?" : "Revoke this task?", html =>
        {
            html.Open("p").Element("code", id, ("class", "mono")).Close("p")
                .Element("p", forget
                    ? "Forgetting deletes the stored result (Celery's forget). Anyone waiting on it sees PENDING; this cannot be undone."
                    : "Revoking stores REVOKED for this task. A stored SUCCESS is never replaced.")
                .Open("form", ("method", "post"), ("action", page.Url($"results/{DashboardPage.Id(id)}/{action}")), ("data-testid", "confirm"))
                .Void("input", ("type", "hidden"), ("name", tokens.FormFieldName), ("value", tokens.RequestToken));
            if (!forget)
            {
                html.Open("div", ("class", "field")).Element("label", "Reason (optional)", ("for", "reason"))
                    .Void("input", ("id", "reason"), ("name", "reason"), ("type", "text"), ("maxlength", "500"), ("autocomplete", "off")).Close("div");
            }

            html.Open("div", ("class", "field actions"))
                .Element("button", forget ? "Forget" : "Revoke", ("type", "submit"), ("class", forget ? "danger" : null), ("data-testid", "confirm-button"))
                .Element("a", "Cancel", ("href", page.Url("results/" + DashboardPage.Id(id))))
                .Close("div").Close("form");
        }, antiforgery: antiforgery);
    }

    public static async Task<IResult> ActAsync(string id, string action, DashboardPage page, IResultGridClient client, IAntiforgery antiforgery)
    {
        if (TaskIds.Check(id) is not null)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Not a task id", ResultsPage.IdProblem(id));
        }

        if (await DashboardForms.RejectAsync(page.Http, page, antiforgery) is { } rejected)
        {
            return rejected;
        }

        var ct = page.Http.RequestAborted;
        if (action == "forget")
        {
            await client.ForgetAsync(id, ct);
            return Results.Redirect(page.Url("results/" + DashboardPage.Id(id)) + "?done=forgotten", permanent: false, preserveMethod: false);
        }

        var form = await page.Http.Request.ReadFormAsync(ct);
        var reason = form["reason"].ToString().Trim();
        var outcome = await client.MarkRevokedAsync(id, reason.Length == 0 ? null : reason, cancellationToken: ct);
        if (outcome != WriteOutcome.Stored)
        {
            return DashboardPages.Error(page, StatusCodes.Status409Conflict, "Not revoked", ResultEndpoints.Answer(id, TaskStates.Revoked, outcome).Detail);
        }

        return Results.Redirect(page.Url("results/" + DashboardPage.Id(id)) + "?done=revoked");
    }
}

/// <summary>A result's state history as the timeline shows it; off when the silo keeps none (ResultGrid:History).</summary>
internal sealed record DashboardHistory(bool Enabled, IReadOnlyList<ResultHistoryEntry> Entries)
{
    public static async Task<DashboardHistory> ReadAsync(IGrainFactory grains, string taskId)
    {
        try
        {
            return new DashboardHistory(true, await grains.GetGrain<IResultQueryGrain>(0).GetHistoryAsync(taskId));
        }
        catch (NotSupportedException)
        {
            return new DashboardHistory(false, []);
        }
    }
}
