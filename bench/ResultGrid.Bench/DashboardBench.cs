using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResultGrid.Client;
using ResultGrid.Hosting;

namespace ResultGrid.Bench;

/// <summary>
/// <c>scripts/bench.sh --dashboard</c>: the results dashboard (ResultGrid.Http) on PostgreSQL,
/// hosted as the silo host hosts it (a WebApplication that is also the silo, the API at
/// <c>/api</c>, the dashboard at <c>/</c>), Kestrel on a free loopback port.
/// <list type="bullet">
/// <item><c>dashboard.results_page_p50/p99</c>: GET <c>/results?state=FAILURE</c> (the
/// server-rendered first page of failures, 50 rows) over 1,000,000 stored results (100,000 with
/// --quick), against the Hangfire Dashboard's "Failed jobs" page (<see cref="HangfirePeer"/>)
/// over as many failed jobs in the same PostgreSQL server, requests in turn.</item>
/// <item><c>dashboard.live_update_latency_p50/p99</c>: from a write through the SDK to the
/// row's appearance in <c>table#results tbody</c> of the open page in Debian's chromium
/// (<see cref="LiveUpdateBench"/>).</item>
/// </list>
/// The history ratio (<see cref="HistoryBench"/>) runs first, on small tables and silos of its own.
/// </summary>
internal static partial class DashboardBench
{
    public static async Task<int> RunAsync(bool quick)
    {
        var sqlUrl = Environment.GetEnvironmentVariable("RESULTGRID_BENCH_SQL") ?? "";
        var redisUrl = Environment.GetEnvironmentVariable("RESULTGRID_BENCH_REDIS") ?? "";
        if (!sqlUrl.StartsWith("db+postgresql://", StringComparison.Ordinal) || redisUrl.Length == 0)
        {
            await Console.Error.WriteLineAsync("--dashboard needs a db+postgresql:// RESULTGRID_BENCH_SQL and RESULTGRID_BENCH_REDIS; scripts/bench.sh --dashboard starts both servers and sets them.");
            return 2;
        }

        // BENCH_DASHBOARD_PARTS=history,page,live runs only those parts (all by default).
        var parts = Environment.GetEnvironmentVariable("BENCH_DASHBOARD_PARTS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        bool Runs(string part) => parts is null || parts.Contains(part, StringComparer.Ordinal);

        if (Runs("history"))
        {
            await HistoryBench.RunAsync("postgresql", sqlUrl, quick);
            await HistoryBench.RunAsync("redis", redisUrl, quick);
        }

        if (!Runs("page") && !Runs("live"))
        {
            return 0;
        }

        await using var app = HttpBench.BuildSilo(sqlUrl, "bench-dashboard");
        app.MapResultGridDashboard("/", "/api");
        await app.StartAsync();
        var origin = app.Urls.First().TrimEnd('/');
        var client = app.Services.GetRequiredService<IResultGridClient>();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(2) };
        await Console.Error.WriteLineAsync($"dashboard bench: {origin} on PostgreSQL");

        if (Runs("page"))
        {
            await PagesAsync(sqlUrl, client, http, origin, quick);
        }

        if (Runs("live"))
        {
            await LiveUpdateBench.RunAsync(origin, client, quick);
        }

        await app.StopAsync();
        return 0;
    }

    /// <summary>
    /// ResultGrid's results page of failures against Hangfire's Failed jobs page, each over the
    /// same number of stored rows in the same PostgreSQL server, one request at a time from one
    /// HttpClient, the two in turn (so that the machine's drift falls on both), after 20 untimed
    /// requests of each. Timed to the last byte of the body.
    /// </summary>
    private static async Task PagesAsync(string sqlUrl, IResultGridClient client, HttpClient http, string origin, bool quick)
    {
        var rows = quick ? 100_000 : 1_000_000;
        var samples = quick ? 100 : 300;
        await using var hangfire = await HangfirePeer.StartAsync(Bench.NpgsqlConnectionString(sqlUrl));
        await hangfire.SeedAsync(rows, 30);
        // Exactly `rows` results: the history bench before this one wrote into the same table.
        await using (var connection = new Npgsql.NpgsqlConnection(Bench.NpgsqlConnectionString(sqlUrl)))
        {
            await connection.OpenAsync();
            // CASCADE: the state history's table (when history is in the build) refers to it.
            await using var truncate = new Npgsql.NpgsqlCommand($"TRUNCATE {new ResultGrid.Storage.Sql.SqlResultStoreOptions().TaskTable} CASCADE", connection);
            await truncate.ExecuteNonQueryAsync();
        }

        await HttpBench.SeedAsync(sqlUrl, client, rows, 30);

        var ours = new Uri($"{origin}/results?state=FAILURE");
        var ourTimes = new List<double>(samples);
        var theirTimes = new List<double>(samples);
        for (var i = -20; i < samples; i++)
        {
            var (theirs, theirRows) = await TimedGetAsync(http, hangfire.FailedPage, HangfireRow());
            var (mine, myRows) = await TimedGetAsync(http, ours, ResultRow());
            if (i == -20)
            {
                await Console.Error.WriteLineAsync($"dashboard bench: {ours} shows {myRows} rows, {hangfire.FailedPage} shows {theirRows}");
                if (myRows == 0 || theirRows == 0)
                {
                    throw new InvalidOperationException($"A page shows no rows over {rows} stored ones: ResultGrid {myRows} (tr[data-task-id]), Hangfire {theirRows}.");
                }
            }

            if (i >= 0)
            {
                ourTimes.Add(mine);
                theirTimes.Add(theirs);
            }
        }

        await Console.Error.WriteLineAsync($"dashboard bench: Hangfire failed page p50 {Bench.Median(theirTimes):F1} ms, max {theirTimes.Max():F1} ms; ResultGrid results page p50 {Bench.Median(ourTimes):F1} ms, max {ourTimes.Max():F1} ms");

        foreach (var (label, p) in new[] { ("p50", 0.50), ("p99", 0.99) })
        {
            var (mine, theirs) = (Bench.Percentile(ourTimes, p), Bench.Percentile(theirTimes, p));
            Bench.Emit($"dashboard.results_page_{label}", "postgresql", mine, "ms", $"hangfire.failed_page_{label}", Math.Round(theirs, 3), rows);
            Bench.Emit($"dashboard.results_page_vs_hangfire_{label}", "postgresql", theirs / mine, "times faster", rows: rows);
        }
    }

    private static async Task<(double Milliseconds, int Rows)> TimedGetAsync(HttpClient http, Uri url, Regex row)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
        }

        return (elapsed, row.Count(body));
    }

    // A row of the DOM contract's table#results.
    [GeneratedRegex("<tr[^>]*\\sdata-task-id=")]
    private static partial Regex ResultRow();

    // A job row of Hangfire's jobs list: its selection checkbox (the select-all one has another class).
    [GeneratedRegex("class=\"js-jobs-list-checkbox\"")]
    private static partial Regex HangfireRow();
}
