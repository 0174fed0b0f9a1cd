using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace ResultGrid.Http.Dashboard;

/// <summary>Counts per state, live rate and latency charts, the backend and its health, the silos.</summary>
internal static class OverviewPage
{
    /// <summary>The states always shown, in the order a result goes through them; custom states follow.</summary>
    public static readonly string[] States = [TaskStates.Pending, TaskStates.Started, TaskStates.Retry, TaskStates.Success, TaskStates.Failure, TaskStates.Revoked];

    private static readonly (string Id, string Label, string Unit)[] Charts =
    [
        ("writes", "Writes", "/s"),
        ("reads", "Reads", "/s"),
        ("waits", "Waits", "/s"),
        ("latency", "Store latency", " ms"),
    ];

    private static readonly string[] SiloColumns = ["Silo", "Writes/s", "Reads/s", "Waits/s", "Waiters", "Store ms", "Reported"];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static async Task<IResult> RenderAsync(DashboardPage page, IGrainFactory grains, IAntiforgery antiforgery)
    {
        var ct = page.Http.RequestAborted;
        var stats = Try(OperationsEndpoints.ReadStatsAsync(grains, ct));
        var health = Try(grains.GetGrain<IResultHealthGrain>(0).CheckAsync(Timeout));
        var facts = Try(grains.GetGrain<IResultHealthGrain>(0).DescribeBackendAsync(Timeout));
        await Task.WhenAll(stats, health, facts);

        return DashboardLayout.Page(page, "overview", "Overview", html =>
        {
            var s = stats.Result.Value;
            html.Open("section", ("aria-labelledby", "counts-title"))
                .Element("h2", "Results by state", ("id", "counts-title"))
                .Open("dl", ("class", "counts"), ("data-testid", "state-counts"));
            var states = States.Concat((s?.States.Keys ?? []).Where(k => !States.Contains(k, StringComparer.Ordinal)).Order(StringComparer.Ordinal));
            foreach (var state in states)
            {
                html.Open("div", ("class", "count"), ("data-state", state))
                    .Element("dt", state)
                    .Element("dd", s is null ? "-" : (s.States.GetValueOrDefault(state)).ToString("N0", CultureInfo.InvariantCulture), ("data-testid", "count-" + state))
                    .Close("div");
            }

            html.Close("dl");
            html.Element("p", s is null ? "The counts could not be read: " + stats.Result.Error
                : s.StatesSource == "index" ? $"Counted by the store from its indexes in {s.CountMilliseconds:0.#} ms."
                : "This backend indexes nothing: the results this cluster's silos stored since they started.", ("class", "note"), ("data-testid", "counts-source"));
            html.Close("section");

            html.Open("section", ("aria-labelledby", "rates-title")).Element("h2", "Rates", ("id", "rates-title")).Open("div", ("class", "charts"));
            foreach (var (id, label, unit) in Charts)
            {
                var now = s is null ? null : id switch
                {
                    "writes" => s.Totals.WritesPerSecond,
                    "reads" => s.Totals.ReadsPerSecond,
                    "waits" => s.Totals.WaitsPerSecond,
                    _ => s.Silos.Select(x => x.StoreLatencyMs).Where(x => x is not null).DefaultIfEmpty(null).Average(),
                };
                html.Open("figure", ("class", "chart"))
                    .Open("figcaption").Text(label + " ").Element("span", now is null ? "-" : now.Value.ToString("0.#", CultureInfo.InvariantCulture) + unit, ("class", "now"), ("data-testid", "rate-" + id)).Close("figcaption")
                    .Trusted($"<svg data-testid=\"chart-{id}\" class=\"spark\" viewBox=\"0 0 300 60\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{label} over the last two minutes\"><path class=\"line\" d=\"\"></path></svg>")
                    .Close("figure");
            }

            html.Close("div").Close("section");

            html.Open("section", ("aria-labelledby", "backend-title")).Element("h2", "Backend", ("id", "backend-title"));
            var report = health.Result.Value;
            html.Open("p").Text("Backend ").Element("code", report?.Backend ?? s?.Backend ?? "unknown", ("data-testid", "backend")).Close("p");
            html.Open("ul", ("data-testid", "health"), ("class", "checks"));
            if (report is null)
            {
                html.Element("li", "The readiness check did not answer: " + health.Result.Error, ("data-healthy", "false"));
            }
            else
            {
                foreach (var check in report.Checks)
                {
                    html.Open("li", ("data-healthy", check.Healthy ? "true" : "false"))
                        .Element("span", check.Healthy ? "healthy" : "failing", ("class", check.Healthy ? "badge ok" : "badge bad"))
                        .Text(" ").Element("strong", check.Name).Text(": " + check.Detail).Close("li");
                }
            }

            html.Close("ul");
            if (facts.Result.Value is { Length: > 0 } list)
            {
                html.Open("table", ("data-testid", "facts")).Element("caption", "What resultgrid check reports for this backend")
                    .Open("thead").Open("tr").Element("th", "Fact", ("scope", "col")).Element("th", "Value", ("scope", "col")).Element("th", "Advice", ("scope", "col")).Close("tr").Close("thead").Open("tbody");
                foreach (var fact in list)
                {
                    html.Open("tr", ("data-level", fact.Level)).Element("th", fact.Name, ("scope", "row")).Element("td", fact.Value).Element("td", fact.Advice ?? string.Empty).Close("tr");
                }

                html.Close("tbody").Close("table");
            }
            else if (facts.Result.Error is { } error)
            {
                html.Element("p", "The backend's facts could not be read: " + error, ("class", "note"));
            }

            html.Close("section");

            html.Open("section", ("aria-labelledby", "silos-title")).Element("h2", "Silos", ("id", "silos-title"))
                .Open("table", ("data-testid", "silos"), ("id", "silos"))
                .Open("thead").Open("tr");
            foreach (var column in SiloColumns)
            {
                html.Element("th", column, ("scope", "col"));
            }

            html.Close("tr").Close("thead").Open("tbody");
            foreach (var silo in s?.Silos ?? [])
            {
                SiloRow(html, silo);
            }

            html.Close("tbody").Close("table").Close("section");
        }, live: page.Api + "/stats/events", antiforgery: antiforgery);
    }

    private static void SiloRow(Html html, SiloStatsView silo) =>
        html.Open("tr")
            .Element("td", silo.Address)
            .Element("td", silo.WritesPerSecond.ToString("0.#", CultureInfo.InvariantCulture))
            .Element("td", silo.ReadsPerSecond.ToString("0.#", CultureInfo.InvariantCulture))
            .Element("td", silo.WaitsPerSecond.ToString("0.#", CultureInfo.InvariantCulture))
            .Element("td", silo.ActiveWaiters.ToString("N0", CultureInfo.InvariantCulture))
            .Element("td", silo.StoreLatencyMs?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-")
            .Element("td", Html.Date(silo.At))
            .Close("tr");

    /// <summary>One part of the page that failed is named on the page; the others still show.</summary>
    private static async Task<(T? Value, string? Error)> Try<T>(Task<T> task) where T : class
    {
        try
        {
            return (await task, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, ex.Message);
        }
    }
}
