using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.States;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ResultGrid.Bench;

/// <summary>
/// The peer of <c>dashboard.results_page_*</c>: the Hangfire Dashboard (Hangfire.AspNetCore
/// 1.8.25) on Hangfire's own PostgreSQL storage (Hangfire.PostgreSql 1.21.1, schema
/// <c>hangfire</c>) in the same PostgreSQL server as ResultGrid's table, its own Kestrel on a
/// free loopback port in this process. Its "Failed jobs" page is read over as many failed jobs as
/// ResultGrid has results. No Hangfire server runs: the dashboard reads storage only, and a
/// server would start working on (and expiring) the seeded jobs during the measurement.
/// </summary>
internal sealed class HangfirePeer : IAsyncDisposable
{
    /// <summary>Hangfire.PostgreSql's default schema, created by its installer at storage start.</summary>
    public const string Schema = "hangfire";

    private readonly WebApplication _app;
    private readonly string _connectionString;

    private HangfirePeer(WebApplication app, string connectionString, string origin)
    {
        _app = app;
        _connectionString = connectionString;
        Origin = origin;
    }

    public string Origin { get; }

    /// <summary>
    /// Hangfire's "Failed jobs" page, 50 jobs per page (its <c>count</c> query parameter, as its
    /// own page-size selector sets it): the same number of rows as ResultGrid's results page.
    /// </summary>
    public Uri FailedPage => new($"{Origin}/hangfire/jobs/failed?count=50");

    public static async Task<HangfirePeer> StartAsync(string connectionString)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // The configuration Hangfire's documentation gives for a new 1.8 application.
        builder.Services.AddHangfire(c => c
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString), new PostgreSqlStorageOptions { SchemaName = Schema, PrepareSchemaIfNecessary = true }));
        var app = builder.Build();
        // Anonymous from loopback: Hangfire's default LocalRequestsOnlyAuthorizationFilter.
        app.UseHangfireDashboard("/hangfire");
        await app.StartAsync();
        // The storage (and so its schema installer) is made when first asked for: Hangfire creates
        // its own tables before anything is seeded into them.
        _ = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().FailedCount();
        return new HangfirePeer(app, connectionString, app.Urls.First().TrimEnd('/'));
    }

    /// <summary>
    /// Puts <paramref name="rows"/> failed jobs into Hangfire's tables: one job is created through
    /// Hangfire's own client in the Failed state (with an exception thrown and caught, so its
    /// state carries a real stack trace), and every seeded job and its state row are copies of
    /// that job's rows (all their columns, whatever this schema version has) with their own ids
    /// and creation times, spread over <paramref name="days"/> days, newest with the highest id
    /// as Hangfire numbers them. Bulk SQL (generate_series), as ResultGrid's table is seeded.
    /// Job parameters (culture) are not copied: the Failed jobs page does not read them.
    /// </summary>
    public async Task SeedAsync(int rows, int days)
    {
        var clock = Stopwatch.StartNew();
        var jobs = _app.Services.GetRequiredService<IBackgroundJobClient>();
        Exception failure;
        try
        {
            HangfireReports.Build(42, "eu-west");
            throw new UnreachableException();
        }
        catch (InvalidOperationException ex)
        {
            failure = ex;
        }

        var template = long.Parse(jobs.Create(() => HangfireReports.Build(42, "eu-west"), new FailedState(failure)), CultureInfo.InvariantCulture);
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        long templateState;
        await using (var check = new NpgsqlCommand($"SELECT statename, stateid FROM {Schema}.job WHERE id = @id", connection))
        {
            check.Parameters.AddWithValue("id", template);
            await using var reader = await check.ExecuteReaderAsync();
            if (!await reader.ReadAsync() || reader.GetString(0) != FailedState.StateName)
            {
                throw new InvalidOperationException($"Hangfire's template job {template} is not in the Failed state; the seeded jobs would not be on the Failed jobs page.");
            }

            templateState = reader.GetInt64(1);
        }

        var n = rows.ToString(CultureInfo.InvariantCulture);
        var at = $"now() - (({n} - g)::double precision / {n}) * interval '{days.ToString(CultureInfo.InvariantCulture)} days'";
        var jobBase = await ScalarAsync<long>(connection, $"SELECT max(id) FROM {Schema}.job");
        var stateBase = await ScalarAsync<long>(connection, $"SELECT max(id) FROM {Schema}.state");
        await CopyAsync(connection, "job", template, rows, at, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["id"] = $"{jobBase} + g",
            ["stateid"] = $"{stateBase} + g",
            ["createdat"] = "w.at",
        });
        await CopyAsync(connection, "state", templateState, rows, at, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["id"] = $"{stateBase} + g",
            ["jobid"] = $"{jobBase} + g",
            ["createdat"] = "w.at",
        });
        await ExecuteAsync(connection, $"""
            SELECT setval(pg_get_serial_sequence('{Schema}.job', 'id'), (SELECT max(id) FROM {Schema}.job));
            SELECT setval(pg_get_serial_sequence('{Schema}.state', 'id'), (SELECT max(id) FROM {Schema}.state));
            """);
        // As for ResultGrid's table: a table grown over a month has been vacuumed and analysed.
        await ExecuteAsync(connection, $"VACUUM (ANALYZE) {Schema}.job");
        await ExecuteAsync(connection, $"VACUUM (ANALYZE) {Schema}.state");

        var failed = _app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().FailedCount();
        if (failed != rows + 1)
        {
            throw new InvalidOperationException($"Hangfire counts {failed} failed jobs after seeding, not {rows + 1}.");
        }

        await Console.Error.WriteLineAsync($"dashboard bench: {rows} Hangfire failed jobs seeded in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string table, long templateId, int rows, string at, Dictionary<string, string> varied)
    {
        var columns = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT column_name FROM information_schema.columns WHERE table_schema = @schema AND table_name = @table ORDER BY ordinal_position", connection))
        {
            list.Parameters.AddWithValue("schema", Schema);
            list.Parameters.AddWithValue("table", table);
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                columns.Add(reader.GetString(0));
            }
        }

        var quoted = string.Join(", ", columns.Select(c => $"\"{c}\""));
        var select = string.Join(", ", columns.Select(c => varied.TryGetValue(c, out var e) ? e : $"t.\"{c}\""));
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO {Schema}."{table}" ({quoted})
            SELECT {select}
            FROM generate_series(1, {rows.ToString(CultureInfo.InvariantCulture)}) g
            CROSS JOIN LATERAL (SELECT {at} AS at) w
            JOIN {Schema}."{table}" t ON t.id = {templateId.ToString(CultureInfo.InvariantCulture)}
            """, connection) { CommandTimeout = 900 };
        var inserted = await insert.ExecuteNonQueryAsync();
        if (inserted != rows)
        {
            throw new InvalidOperationException($"Seeding put {inserted} rows in {Schema}.{table}, not {rows}.");
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)Convert.ChangeType(await command.ExecuteScalarAsync(), typeof(T), CultureInfo.InvariantCulture)!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 900 };
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The job the Hangfire peer's failed jobs invoke: public and static, so that Hangfire's dashboard finds and shows the method.</summary>
public static class HangfireReports
{
    /// <summary>Fails the way the seeded ResultGrid FAILURE rows do (HttpBench.SeedAsync).</summary>
    /// <remarks>
    /// No automatic retries: with Hangfire's global AutomaticRetry (10 attempts) the job created in
    /// the Failed state is elected Scheduled instead (seen here), and would not be a failed job.
    /// </remarks>
    [AutomaticRetry(Attempts = 0)]
    public static void Build(int pages, string region) =>
        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The report source '{region}' did not answer within 30 s ({pages} pages)."));
}
