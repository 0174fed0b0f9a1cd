using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using ResultGrid.Client;

namespace ResultGrid.Http.Dashboard;

/// <summary>The smaller pages: errors, sign-in, groups and chords, doctor.</summary>
internal static class DashboardPages
{
    public static IResult Error(DashboardPage page, int status, string title, string detail) =>
        DashboardLayout.Page(page, "error", title, html => html.Element("p", detail, ("class", "problem"), ("role", "alert"), ("data-testid", "error")), status: status);

    public static IResult Login(DashboardPage page, IAntiforgery antiforgery, string? returnUrl, string? problem = null, int status = StatusCodes.Status200OK)
    {
        var tokens = page.Antiforgery(antiforgery);
        return DashboardLayout.Page(page, "login", "Sign in", html =>
        {
            html.Element("p", "Sign in with an API key (ResultGrid:Http:Keys). The key is checked once; the browser then holds a session cookie that carries the key's name and roles, never the key.");
            if (problem is not null)
            {
                html.Element("p", problem, ("class", "problem"), ("role", "alert"), ("data-testid", "login-problem"));
            }

            html.Open("form", ("method", "post"), ("action", page.Url("login")), ("data-testid", "login"))
                .Void("input", ("type", "hidden"), ("name", tokens.FormFieldName), ("value", tokens.RequestToken))
                .Void("input", ("type", "hidden"), ("name", "returnUrl"), ("value", DashboardAuthentication.LocalReturn(page, returnUrl)))
                .Open("div", ("class", "field"))
                .Element("label", "API key", ("for", "key"))
                .Void("input", ("id", "key"), ("name", "key"), ("type", "password"), ("required", string.Empty), ("autocomplete", "current-password"))
                .Close("div")
                .Open("div", ("class", "field actions")).Element("button", "Sign in", ("type", "submit")).Close("div")
                .Close("form");
        }, status: status);
    }

    public static IResult GroupLookup(DashboardPage page, IAntiforgery antiforgery)
    {
        if (page.Http.Request.Query["id"].ToString().Trim() is { Length: > 0 } id)
        {
            return TaskIds.Check(id) is null
                ? Results.Redirect(page.Url("groups/" + DashboardPage.Id(id)))
                : Error(page, StatusCodes.Status400BadRequest, "Not a group id", ResultsPage.IdProblem(id).Replace("task id", "group id", StringComparison.Ordinal));
        }

        return DashboardLayout.Page(page, "groups", "Groups", html =>
        {
            html.Element("p", "Open a group or a chord's header by its id: its progress, each child's state, and the chord's body.")
                .Open("form", ("id", "group-jump"), ("method", "get"), ("action", page.Url("groups")), ("role", "search"), ("aria-label", "Find a group by id"))
                .Element("label", "Group id", ("for", "group-id"))
                .Void("input", ("id", "group-id"), ("name", "id"), ("type", "search"), ("required", string.Empty), ("autocomplete", "off"), ("spellcheck", "false"))
                .Element("button", "Open", ("type", "submit"))
                .Close("form");
        }, antiforgery: antiforgery);
    }

    public static async Task<IResult> GroupAsync(string id, DashboardPage page, IResultGridClient client, IAntiforgery antiforgery)
    {
        if (TaskIds.Check(id) is not null)
        {
            return Error(page, StatusCodes.Status400BadRequest, "Not a group id", ResultsPage.IdProblem(id).Replace("task id", "group id", StringComparison.Ordinal));
        }

        var ct = page.Http.RequestAborted;
        var status = await client.GetGroupAsync(id, ct);
        if (!status.Exists)
        {
            return Error(page, StatusCodes.Status404NotFound, "No such group", $"No group '{id}' is saved (or it expired). Groups are saved by SaveGroupAsync, PUT groups/{{id}}, or Celery's GroupResult.save().");
        }

        var children = await client.GetGroupResultsAsync(id, ct);
        var chordState = status.Chord is { } chord ? await client.GetStateAsync(chord.TaskId, ct) : null;
        return DashboardLayout.Page(page, "groups", status.Chord is null ? "Group" : "Chord", html =>
        {
            html.Open("p", ("class", "subtitle")).Element("code", id, ("class", "mono"), ("data-testid", "group-id")).Close("p")
                .Open("div", ("class", "progress-line"))
                .Element("label", "Completed", ("for", "group-progress"), ("class", "visually-hidden"))
                .Element("progress", null, ("id", "group-progress"), ("data-testid", "group-progress"), ("value", status.Completed.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("max", Math.Max(status.Total, 1).ToString(System.Globalization.CultureInfo.InvariantCulture)))
                .Element("span", Counts(status.Completed, status.Total, status.Succeeded, status.Failed), ("data-testid", "group-counts"), ("role", "status"), ("aria-live", "polite"))
                .Close("div");

            if (status.Chord is { } body)
            {
                html.Open("section", ("aria-labelledby", "chord-title"), ("data-testid", "chord")).Element("h2", "Chord body", ("id", "chord-title"))
                    .Open("p").Element("a", body.TaskId, ("href", page.Url("results/" + DashboardPage.Id(body.TaskId))), ("class", "mono"))
                    .Text(" runs ").Element("code", body.Name).Text(" once every child is READY: ")
                    .Element("span", chordState ?? TaskStates.Pending, ("class", "state"), ("data-state", chordState ?? TaskStates.Pending), ("data-testid", "chord-state"))
                    .Close("p").Close("section");
            }

            html.Open("section", ("aria-labelledby", "children-title")).Element("h2", "Children", ("id", "children-title"))
                .Open("table", ("id", "children")).Open("thead").Open("tr")
                .Element("th", "Task id", ("scope", "col")).Element("th", "State", ("scope", "col")).Element("th", "Name", ("scope", "col")).Element("th", "Done", ("scope", "col")).Element("th", "Worker", ("scope", "col"))
                .Close("tr").Close("thead").Open("tbody");
            foreach (var child in children)
            {
                var r = child.Record;
                ResultsPage.Row(html, page, child.TaskId, r.EffectiveState, r.Name, r.DateDone, r.Worker);
            }

            html.Close("tbody").Close("table").Close("section");
        }, live: status.IsReady ? null : page.Api + "/groups/" + DashboardPage.Id(id) + "/events", antiforgery: antiforgery);
    }

    public static string Counts(int completed, int total, int succeeded, int failed) =>
        $"{completed} of {total} complete · {succeeded} succeeded · {failed} failed · {total - completed} waiting";

    public static async Task<IResult> DoctorAsync(DashboardPage page, IServiceProvider services, IAntiforgery antiforgery)
    {
        var doctor = services.GetService(typeof(IConfigurationDoctor)) as IConfigurationDoctor;
        IReadOnlyList<DoctorFindingView>? findings = null;
        string? error = null;
        if (doctor is not null)
        {
            try
            {
                findings = await doctor.CheckAsync(page.Http.RequestAborted);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                error = ex.Message;
            }
        }

        return DashboardLayout.Page(page, "doctor", "Doctor", html =>
        {
            if (doctor is null)
            {
                html.Element("p", "This host has no configuration doctor: the silo host registers one (AddResultGridSilo); run `resultgrid doctor` beside the silo's settings instead.", ("class", "note"), ("data-testid", "doctor-missing"));
                return;
            }

            if (error is not null)
            {
                html.Element("p", "The doctor failed: " + error, ("class", "problem"), ("role", "alert"));
                return;
            }

            html.Element("p", "What resultgrid doctor finds in this silo's own configuration and backend, worst first, with the fix for each.", ("class", "note"));
            if (findings!.Count == 0)
            {
                html.Element("p", "Nothing to report.", ("data-testid", "empty"));
            }

            html.Open("ul", ("data-testid", "findings"), ("class", "findings"));
            foreach (var finding in findings)
            {
                html.Open("li", ("data-severity", finding.Severity), ("data-id", finding.Id))
                    .Open("p").Element("span", finding.Severity, ("class", "badge " + finding.Severity)).Text(" ").Element("code", finding.Id).Text(" · ").Element("span", finding.Where, ("class", "where")).Close("p")
                    .Element("p", finding.Found, ("class", "found"))
                    .Open("p", ("class", "fix")).Element("strong", "Fix: ").Text(finding.Fix).Close("p")
                    .Close("li");
            }

            html.Close("ul");
        }, antiforgery: antiforgery);
    }
}
