using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// A dual-write store reports, and the grains use, exactly the optional capabilities its two
/// real stores have: a change feed only where a side has one, search and the id scan only where
/// the primary has them, a sweep only where a side has no native expiry. (Before capabilities
/// were asked through <see cref="IResultStore.TryGetCapability{T}"/>, the dual-write object
/// implemented every optional interface, so every <c>is</c> check passed for it.)
/// </summary>
[Trait("Backend", "dualwrite")]
public sealed class DualWriteCapabilityTests(RedisCluster redis, PostgresCluster postgres) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("rg-dw-caps-").FullName;
    private string _redisUrl = null!;
    private string? _suffix;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public enum Pair
    {
        RedisRedis,
        RedisSqlite,
        SqlitePostgreSql,
    }

    /// <summary>What each pair really has: (feed, scan, query, sweep, facts).</summary>
    private static (bool Feed, bool Scan, bool Query, bool Sweep, bool Facts) Expected(Pair pair) => pair switch
    {
        // Both sides have Redis' keyspace of publishes; neither keeps tables to search or rows to sweep.
        Pair.RedisRedis => (true, true, false, false, true),
        // The primary (Redis) cannot search; the secondary (SQLite) has rows to sweep.
        Pair.RedisSqlite => (true, true, false, true, true),
        // Only ResultGrid writes SQL tables: no feed on either side.
        Pair.SqlitePostgreSql => (false, true, true, true, true),
        _ => throw new ArgumentOutOfRangeException(nameof(pair)),
    };

    public async ValueTask InitializeAsync() => _redisUrl = await redis.Server.UrlAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _owned)
        {
            await store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData(Pair.RedisRedis)]
    [InlineData(Pair.RedisSqlite)]
    [InlineData(Pair.SqlitePostgreSql)]
    public async Task Reports_exactly_the_capabilities_its_stores_have(Pair pair)
    {
        var dual = await DualAsync(pair);
        var expected = Expected(pair);
        Assert.Equal(expected, (dual.Has<IResultChangeFeed>(), dual.Has<IResultScan>(), dual.Has<IResultQuery>(), dual.Has<IExpiredResultSweep>(), dual.Has<IBackendDiagnostics>()));

        // Never offered by a pair: migrate and inspect open one backend by its URL.
        Assert.False(dual.Has<IResultTransfer>());
        Assert.False(dual.Has<IRawRecordReader>());

        // The object itself implements none of them: an `is` check can no longer be fooled.
        object asObject = dual;
        Assert.False(asObject is IResultChangeFeed or IResultScan or IResultQuery or IExpiredResultSweep or IBackendDiagnostics);
    }

    [Theory]
    [InlineData(Pair.RedisRedis)]
    [InlineData(Pair.RedisSqlite)]
    [InlineData(Pair.SqlitePostgreSql)]
    public async Task Each_capability_it_reports_works_on_the_sides_that_have_it(Pair pair)
    {
        var dual = await DualAsync(pair);
        var id = $"dw-caps-{Guid.NewGuid():N}";

        if (dual.TryGetCapability<IResultChangeFeed>(out var feed))
        {
            var seen = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (await feed.WatchAsync(id, r =>
            {
                seen.TrySetResult(r);
                return Task.CompletedTask;
            }))
            {
                // A writer outside the cluster writing to a side with a feed: the old backend
                // (the secondary) where it has one.
                var fed = dual.Secondary.Has<IResultChangeFeed>() ? dual.Secondary : dual.Primary;
                await fed.WriteAsync(Record(id, TaskStates.Started), Ct);
                Assert.Equal(TaskStates.Started, (await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct)).State);
            }
        }

        await dual.WriteAsync(Record(id, TaskStates.Success), Ct);

        if (dual.TryGetCapability<IResultQuery>(out var query))
        {
            var page = await query.QueryAsync(new ResultQuery { States = [TaskStates.Success], PageSize = 1000 }, Ct);
            Assert.Contains(page.Items, r => r.TaskId == id);
        }

        if (dual.TryGetCapability<IResultScan>(out var scan))
        {
            var ids = new List<string>();
            await foreach (var found in scan.ScanTaskIdsAsync(Ct))
            {
                ids.Add(found);
            }

            Assert.Contains(id, ids);
        }

        if (dual.TryGetCapability<IExpiredResultSweep>(out var sweep))
        {
            // Expired on both sides; the sides without native expiry keep the row until swept.
            Assert.True(await dual.ExpireAsync(id, DateTimeOffset.UtcNow.AddSeconds(-1), Ct));
            var (deleted, _, _) = await ExpiredResults.SweepAsync(sweep, DateTimeOffset.UtcNow, 1000, TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, cancellationToken: Ct);
            Assert.True(deleted >= 1);
            Assert.Equal(ResultExistence.Pending, await dual.Secondary.GetExistenceAsync(id, Ct));
            Assert.Null(await sweep.OldestExpiredAsync(DateTimeOffset.UtcNow, Ct));
        }

        Assert.True(dual.TryGetCapability<IBackendDiagnostics>(out var diagnostics));
        var facts = await diagnostics.DescribeAsync(Ct);
        Assert.Equal(BackendFactIds.DualWriteMode, facts[0].Id);
        Assert.Contains(facts, f => f.Id == BackendFactIds.ServerVersion && f.Name.StartsWith("primary: ", StringComparison.Ordinal));
        Assert.Contains(facts, f => f.Id == BackendFactIds.ServerVersion && f.Name.StartsWith("secondary: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(Pair.RedisRedis)]
    [InlineData(Pair.RedisSqlite)]
    public async Task The_silo_sweeps_and_searches_only_where_the_pair_can(Pair pair)
    {
        var (primary, secondary) = Urls(pair);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddRedisResultStore();
            silo.Services.AddSqlResultStore();
            silo.UseInMemoryReminderService();
            silo.AddResultGrid(o =>
            {
                o.Backend = primary;
                o.SecondaryBackend = secondary;
            });
        });
        builder.ConfigureClient(client => client.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(Ct);
        var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();

        // Redis + Redis has no rows to sweep: no SQL sweep is scheduled or run. A SQLite side has.
        var report = await client.SweepExpiredAsync(Ct);
        Assert.Equal(Expected(pair).Sweep, report.Swept);

        // Searches go to the primary, which is Redis here: refused, naming the backend.
        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => client.QueryAsync(new ResultQuery(), Ct));
        Assert.Contains("keeps no queryable tables", refused.Message, StringComparison.Ordinal);
        await cluster.StopAllSilosAsync(Ct);
    }

    private (string Primary, string Secondary) Urls(Pair pair)
    {
        var sqlite = $"db+sqlite:///{Path.Combine(_directory, $"{pair}-{Guid.NewGuid():N}.db")}";
        return pair switch
        {
            // Two databases of one server: two backends as far as dual-write is concerned.
            Pair.RedisRedis => (_redisUrl, OtherDatabase(_redisUrl)),
            Pair.RedisSqlite => (_redisUrl, sqlite),
            // Tables of its own on the shared server: the sweep below must finish with this
            // test's rows, not with every expired row other tests left there.
            Pair.SqlitePostgreSql => (sqlite, $"{postgres.Server.Url}?task_table=caps_{Suffix()}&group_table=capsg_{Suffix()}"),
            _ => throw new ArgumentOutOfRangeException(nameof(pair)),
        };
    }

    private string Suffix() => _suffix ??= Guid.NewGuid().ToString("N")[..12];

    private static string OtherDatabase(string redisUrl)
    {
        var uri = new Uri(redisUrl);
        return $"{uri.Scheme}://{uri.Authority}/5";
    }

    private async Task<DualWriteResultStore> DualAsync(Pair pair)
    {
        var (primary, secondary) = Urls(pair);
        var dual = new DualWriteResultStore(await StoreAsync(primary), BackendUrl.Parse(primary).Redacted, await StoreAsync(secondary), BackendUrl.Parse(secondary).Redacted);
        _owned.Add(dual);
        return dual;
    }

    private static async Task<IResultStore> StoreAsync(string url)
    {
        var parsed = BackendUrl.Parse(url);
        IResultStore store = parsed.Scheme.StartsWith("redis", StringComparison.Ordinal)
            ? new RedisResultStore(RedisStoreSettings.Create(parsed, new RedisResultStoreOptions { AllowAdmin = true }), TimeProvider.System, NullLogger.Instance)
            : new SqlResultStore(SqlStoreSettings.Create(parsed, new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static TaskResult Record(string id, string state) => new()
    {
        TaskId = id,
        State = state,
        Payload = new ResultPayload { Data = Encoding.UTF8.GetBytes("\"caps\""), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };
}
