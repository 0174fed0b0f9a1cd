using System.Globalization;
using System.Text;
using ResultGrid.Storage;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// The dashboard's silos for the browser tests, each started on first use and shared by the
/// collection: SQLite under the path base <c>/rg</c> (anonymous from loopback, so with every
/// role); PostgreSQL seeded with 100,000 results that takes no anonymous request (a read-only
/// key and an operator key, signed in through /login); Redis, where nothing is indexed.
/// </summary>
public sealed class DashboardSilos : IAsyncLifetime
{
    public const string PathBase = "/rg";
    public const string ViewerKey = "viewer-key-5d1e0c2f";
    public const string OperatorKey = "operator-key-9a7b3e41";

    /// <summary>How many results the PostgreSQL database holds before its silo starts.</summary>
    public const int SeededResults = 100_000;

    /// <summary>Seeded FAILUREs named <c>browser.rare</c>: a filter by name and state finds exactly these.</summary>
    public static readonly IReadOnlyList<string> RareFailures = [.. Enumerable.Range(0, 7).Select(i => $"rare-{i}")];

    /// <summary>Seeded SUCCESSes named <c>browser.paged</c>: three pages of 50, 50 and 20.</summary>
    public static readonly IReadOnlyList<string> Paged = [.. Enumerable.Range(0, 120).Select(i => $"paged-{i:D3}")];

    /// <summary>The only seeded results done in 9–14 January 2026: a date range finds exactly these.</summary>
    public static readonly IReadOnlyList<string> Dated = [.. Enumerable.Range(0, 5).Select(i => $"dated-{i}")];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _directory = Directory.CreateTempSubdirectory("rg-dash-").FullName;
    private DashboardSilo? _sqlite;
    private DashboardSilo? _postgres;
    private DashboardSilo? _redis;
    private PostgresProcess? _postgresServer;
    private RedisServer? _redisServer;

    /// <summary>How many seeded results are REVOKED (no test writes that state on PostgreSQL).</summary>
    public int SeededRevoked { get; private set; }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>SQLite under the path base; results never expire and cleanup is off, which the doctor page must say.</summary>
    public Task<DashboardSilo> SqliteAsync() => Once(() => _sqlite, async () => _sqlite = await DashboardSilo.StartAsync(
        $"db+sqlite:///{Path.Combine(_directory, "dashboard.db")}",
        new Dictionary<string, string>
        {
            ["RESULTGRID__RESULTEXPIRES"] = "0",
            ["RESULTGRID__CLEANUP__ENABLED"] = "false",
        },
        PathBase));

    public Task<DashboardSilo> PostgresAsync() => Once(() => _postgres, async () =>
    {
        _postgresServer = new PostgresProcess();
        await _postgresServer.StartAsync();
        await SeedAsync(_postgresServer.Url);
        _postgres = await DashboardSilo.StartAsync(
            _postgresServer.Url,
            new Dictionary<string, string>
            {
                ["RESULTGRID__HTTP__ANONYMOUSNETWORKS__0"] = "none",
                ["RESULTGRID__HTTP__KEYS__0__NAME"] = "viewer",
                ["RESULTGRID__HTTP__KEYS__0__SECRET"] = ViewerKey,
                ["RESULTGRID__HTTP__KEYS__0__ROLES"] = "read",
                ["RESULTGRID__HTTP__KEYS__1__NAME"] = "operator",
                ["RESULTGRID__HTTP__KEYS__1__SECRET"] = OperatorKey,
                ["RESULTGRID__HTTP__KEYS__1__ROLES"] = "read,write,operate",
            },
            apiKey: OperatorKey);
    });

    public Task<DashboardSilo> RedisAsync() => Once(() => _redis, async () =>
    {
        _redisServer = new RedisServer();
        _redis = await DashboardSilo.StartAsync(await _redisServer.UrlAsync());
    });

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in new[] { _sqlite, _postgres, _redis })
        {
            if (silo is not null)
            {
                await silo.DisposeAsync();
            }
        }

        if (_postgresServer is not null)
        {
            await _postgresServer.DisposeAsync();
        }

        if (_redisServer is not null)
        {
            await _redisServer.DisposeAsync();
        }

        _gate.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<DashboardSilo> Once(Func<DashboardSilo?> get, Func<Task> start)
    {
        await _gate.WaitAsync();
        try
        {
            if (get() is null)
            {
                await start();
            }

            return get()!;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// 100,000 results through the store's bulk import (PostgreSQL's COPY) before the silo starts:
    /// a few seconds, where 100,000 writes through the API would take minutes on two cores.
    /// </summary>
    private async Task SeedAsync(string url)
    {
        var now = DateTimeOffset.UtcNow;
        var expires = now.AddDays(30);
        static ResultPayload Json(string json) => new() { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" };
        TaskResult Result(string id, string state, string name, DateTimeOffset done) => new()
        {
            TaskId = id,
            State = state,
            Name = name,
            DateDone = done,
            ExpiresAt = expires,
            Worker = "celery@seed",
            Payload = state == TaskStates.Success
                ? Json($$"""{"id":"{{id}}"}""")
                : Json($$"""{"exc_type":"ValueError","exc_message":["seeded {{id}}"],"exc_module":"builtins"}"""),
            Traceback = state == TaskStates.Failure ? $"Traceback (most recent call last):\nValueError: seeded {id}" : null,
        };

        var results = new List<TaskResult>(SeededResults);
        results.AddRange(RareFailures.Select((id, i) => Result(id, TaskStates.Failure, "browser.rare", now.AddMinutes(-i))));
        results.AddRange(Paged.Select((id, i) => Result(id, TaskStates.Success, "browser.paged", now.AddMinutes(-i))));
        results.AddRange(Dated.Select((id, i) => Result(id, TaskStates.Success, "browser.dated", new DateTimeOffset(2026, 1, 10 + i, 12, 0, 0, TimeSpan.Zero))));
        // The bulk: spread over the last 70 days, none of them in January 2026 or named browser.*.
        for (var i = results.Count; i < SeededResults; i++)
        {
            var state = i % 10 == 0 ? TaskStates.Failure : i % 25 == 3 ? TaskStates.Revoked : TaskStates.Success;
            results.Add(Result($"seed-{i:D6}", state, $"reports.task_{i % 20:D2}", now.AddSeconds(-60.0 * i)));
        }

        SeededRevoked = results.Count(r => r.State == TaskStates.Revoked);
        await using var store = DashboardSilo.SqlStore(url);
        {
            IResultStore opened = store;
            await opened.InitializeAsync(CancellationToken.None);
            Assert.True(opened.TryGetCapability<IResultTransfer>(out var transfer));
            var added = 0;
            foreach (var chunk in results.Chunk(10_000))
            {
                added += await transfer.ImportResultsAsync(chunk);
            }

            Assert.Equal(SeededResults, added);
        }
    }
}
