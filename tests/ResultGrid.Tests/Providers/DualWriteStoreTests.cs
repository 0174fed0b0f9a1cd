using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Grains.Hosting;
using ResultGrid.Serialization;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// The dual-write store over real backends: Redis (the shared redis-server, or one of the
/// test's own where it must go down) and PostgreSQL (the shared fixture's server), each side
/// checked with a store of its own. Every id is the test's own; shared databases hold others'.
/// </summary>
public sealed class DualWriteStoreTests(RedisCluster redis, PostgresCluster postgres) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private string _redisUrl = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string PostgresUrl => postgres.Server.Url;

    public async ValueTask InitializeAsync() => _redisUrl = await redis.Server.UrlAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _owned)
        {
            await store.DisposeAsync();
        }
    }

    private static string NewId(string prefix) => $"dw-{prefix}-{Guid.NewGuid():N}";

    private static ResultPayload Json(string json) => new() { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" };

    private static TaskResult Record(string id, string state, string json) => new()
    {
        TaskId = id,
        State = state,
        Payload = Json(json),
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    private static string Redacted(string url) => BackendUrl.Parse(url).Redacted;

    private async Task<IResultStore> RedisStoreAsync(string? url = null, RedisResultStoreOptions? options = null, bool initialise = true)
    {
        var store = new RedisResultStore(RedisStoreSettings.Create(BackendUrl.Parse(url ?? _redisUrl), options ?? new RedisResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        _owned.Add(store);
        if (initialise)
        {
            await store.InitializeAsync(Ct);
        }

        return store;
    }

    private async Task<IResultStore> SqlStoreAsync(string url)
    {
        var store = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(url), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        _owned.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }

    private Task<IResultStore> PostgresStoreAsync() => SqlStoreAsync(PostgresUrl);

    /// <summary>A dual store over fresh Redis and PostgreSQL stores, Redis primary or PostgreSQL primary.</summary>
    private async Task<DualWriteResultStore> DualAsync(bool redisPrimary)
    {
        var (r, p) = (await RedisStoreAsync(), await PostgresStoreAsync());
        return redisPrimary
            ? new DualWriteResultStore(r, Redacted(_redisUrl), p, Redacted(PostgresUrl))
            : new DualWriteResultStore(p, Redacted(PostgresUrl), r, Redacted(_redisUrl));
    }

    [Fact]
    public async Task Writes_land_in_both_backends_as_each_backend_reads_them()
    {
        var dual = await DualAsync(redisPrimary: true);
        var (redisReader, postgresReader) = (await RedisStoreAsync(), await PostgresStoreAsync());
        var id = NewId("both");
        var progress = NewId("both");

        Assert.Equal(WriteOutcome.Stored, (await dual.WriteAsync(Record(id, TaskStates.Success, """{"answer":42}"""), Ct)).Outcome);
        Assert.Equal(WriteOutcome.Stored, (await dual.WriteAsync(Record(progress, "PROGRESS", """{"done":3}"""), Ct)).Outcome);

        foreach (var side in new[] { redisReader, postgresReader })
        {
            var read = await side.ReadAsync(id, Ct);
            Assert.Equal(TaskStates.Success, read!.State);
            Assert.Equal("""{"answer":42}""", Encoding.UTF8.GetString(read.Payload!.Data));
            var both = await side.ReadManyAsync([id, progress], Ct);
            Assert.Equal([TaskStates.Success, "PROGRESS"], both.Select(r => r!.State));
        }

        var gid = NewId("group");
        await dual.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = [id, progress], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Ct);
        Assert.Equal([id, progress], (await redisReader.ReadGroupAsync(gid, Ct))!.TaskIds);
        Assert.Equal([id, progress], (await postgresReader.ReadGroupAsync(gid, Ct))!.TaskIds);
        Assert.Equal("redis", dual.Backend);
    }

    [Fact]
    public async Task Reads_fall_back_to_the_secondary_for_what_only_the_secondary_holds()
    {
        var dual = await DualAsync(redisPrimary: false);
        var (postgresSide, redisSide) = (dual.Primary, dual.Secondary);
        var (onlySecondary, onlyPrimary, nowhere) = (NewId("fb"), NewId("fb"), NewId("fb"));
        await redisSide.WriteAsync(Record(onlySecondary, TaskStates.Success, "\"from the old backend\""), Ct);
        await postgresSide.WriteAsync(Record(onlyPrimary, TaskStates.Failure, """{"exc_type":"ValueError","exc_message":["x"],"exc_module":"builtins"}"""), Ct);

        Assert.Equal("\"from the old backend\"", Encoding.UTF8.GetString((await dual.ReadAsync(onlySecondary, Ct))!.Payload!.Data));
        var many = await dual.ReadManyAsync([onlyPrimary, onlySecondary, nowhere], Ct);
        Assert.Equal(TaskStates.Failure, many[0]!.State);
        Assert.Equal(TaskStates.Success, many[1]!.State);
        Assert.Null(many[2]);
        Assert.True(await dual.ExistsAsync(onlySecondary, Ct));
        Assert.Equal(ResultExistence.Stored, await dual.GetExistenceAsync(onlySecondary, Ct));
        Assert.False(await dual.ExistsAsync(nowhere, Ct));
        Assert.Equal(ResultExistence.Pending, await dual.GetExistenceAsync(nowhere, Ct));
        Assert.Null(await dual.ReadAsync(nowhere, Ct));

        var gid = NewId("fbgroup");
        await redisSide.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = [onlySecondary], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Ct);
        Assert.Equal([onlySecondary], (await dual.ReadGroupAsync(gid, Ct))!.TaskIds);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_success_is_never_replaced_on_either_side_and_one_held_by_one_side_only_is_copied_to_the_other(bool redisPrimary)
    {
        var dual = await DualAsync(redisPrimary);
        async Task<(string? Primary, string? Secondary)> StatesAsync(string id) =>
            ((await dual.Primary.ReadAsync(id, Ct))?.State, (await dual.Secondary.ReadAsync(id, Ct))?.State);

        // Through the dual store: the later FAILURE changes neither side.
        var id = NewId("succ");
        await dual.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
        var refused = await dual.WriteAsync(Record(id, TaskStates.Failure, """{"exc_type":"E","exc_message":[],"exc_module":"m"}"""), Ct);
        Assert.Equal(WriteOutcome.KeptSuccess, refused.Outcome);
        Assert.Equal((TaskStates.Success, TaskStates.Success), await StatesAsync(id));
        Assert.Equal("1", Encoding.UTF8.GetString((await dual.Secondary.ReadAsync(id, Ct))!.Payload!.Data));

        // The primary kept a SUCCESS the secondary lacked: the secondary gets that SUCCESS, not the PROGRESS.
        var primaryOnly = NewId("succ");
        await dual.Primary.WriteAsync(Record(primaryOnly, TaskStates.Success, "\"kept\""), Ct);
        var kept = await dual.WriteAsync(Record(primaryOnly, "PROGRESS", "{}"), Ct);
        Assert.Equal(WriteOutcome.KeptSuccess, kept.Outcome);
        Assert.Equal((TaskStates.Success, TaskStates.Success), await StatesAsync(primaryOnly));
        Assert.Equal("\"kept\"", Encoding.UTF8.GetString((await dual.Secondary.ReadAsync(primaryOnly, Ct))!.Payload!.Data));

        // The secondary held a SUCCESS (readers already saw it through the fallback): the primary
        // does not keep the FAILURE written over nothing, it gets the SUCCESS.
        var secondaryOnly = NewId("succ");
        await dual.Secondary.WriteAsync(Record(secondaryOnly, TaskStates.Success, "\"seen\""), Ct);
        var repaired = await dual.WriteAsync(Record(secondaryOnly, TaskStates.Failure, """{"exc_type":"E","exc_message":[],"exc_module":"m"}"""), Ct);
        Assert.Equal(WriteOutcome.KeptSuccess, repaired.Outcome);
        Assert.Equal("\"seen\"", Encoding.UTF8.GetString(repaired.Current!.Payload!.Data));
        Assert.Equal((TaskStates.Success, TaskStates.Success), await StatesAsync(secondaryOnly));
        Assert.Equal("\"seen\"", Encoding.UTF8.GetString((await dual.Primary.ReadAsync(secondaryOnly, Ct))!.Payload!.Data));
    }

    [Fact]
    public async Task Forget_expire_and_forget_group_reach_both_backends()
    {
        var dual = await DualAsync(redisPrimary: true);
        var (forgotten, expired, gid) = (NewId("fg"), NewId("fg"), NewId("fg"));
        await dual.WriteAsync(Record(forgotten, TaskStates.Success, "1"), Ct);
        await dual.WriteAsync(Record(expired, TaskStates.Success, "2"), Ct);
        await dual.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = [forgotten], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Ct);

        Assert.True(await dual.ForgetAsync(forgotten, Ct));
        Assert.True(await dual.ExpireAsync(expired, DateTimeOffset.UtcNow.AddMilliseconds(-1), Ct));
        Assert.True(await dual.ForgetGroupAsync(gid, Ct));

        foreach (var side in new[] { dual.Primary, dual.Secondary })
        {
            Assert.Null(await side.ReadAsync(forgotten, Ct));
            Assert.Null(await side.ReadAsync(expired, Ct));
            Assert.Null(await side.ReadGroupAsync(gid, Ct));
        }

        Assert.Null(await dual.ReadAsync(forgotten, Ct));
        Assert.False(await dual.ForgetAsync(forgotten, Ct));
    }

    [Fact]
    public async Task A_secondary_that_is_down_fails_the_write_naming_it_and_the_primary_stays_readable()
    {
        await using var server = new RedisProcess("--appendonly", "no");
        await server.StartAsync();
        var url = $"redis://127.0.0.1:{server.Port}/0";
        var quick = new RedisResultStoreOptions
        {
            SocketTimeout = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(1),
            Retry = new StoreRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(50) },
        };
        var dual = new DualWriteResultStore(await PostgresStoreAsync(), Redacted(PostgresUrl), await RedisStoreAsync(url, quick), url);
        var before = NewId("down");
        Assert.Equal(WriteOutcome.Stored, (await dual.WriteAsync(Record(before, TaskStates.Success, "\"before\""), Ct)).Outcome);

        await server.KillAsync();
        var during = NewId("down");
        var failed = await Assert.ThrowsAsync<ResultStoreUnavailableException>(() => dual.WriteAsync(Record(during, TaskStates.Success, "\"during\""), Ct).AsTask());
        Assert.Contains($"secondary result backend {url}", failed.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was acknowledged", failed.Message, StringComparison.Ordinal);

        // Reads the primary can answer need no secondary.
        Assert.Equal("\"before\"", Encoding.UTF8.GetString((await dual.ReadAsync(before, Ct))!.Payload!.Data));
        Assert.Equal(TaskStates.Success, (await dual.ReadAsync(during, Ct))!.State);

        // The writer's retry, once the secondary is back, brings the SUCCESS to both sides.
        await server.StartAsync();
        var clock = Stopwatch.StartNew();
        StoreWriteResult retried;
        while (true)
        {
            try
            {
                retried = await dual.WriteAsync(Record(during, TaskStates.Success, "\"during\""), Ct);
                break;
            }
            catch (ResultStoreUnavailableException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200, Ct);
            }
        }

        // PostgreSQL takes an identical SUCCESS as this very write retried (Stored); either way
        // the secondary now holds it.
        Assert.True(retried.Outcome is WriteOutcome.Stored or WriteOutcome.KeptSuccess, $"{retried.Outcome}");
        Assert.Equal("\"during\"", Encoding.UTF8.GetString((await dual.Secondary.ReadAsync(during, Ct))!.Payload!.Data));
    }

    [Fact]
    public async Task A_secondary_that_cannot_be_reached_fails_start_up_naming_it_without_its_password()
    {
        var unreachable = $"redis://:s3cret-pw@127.0.0.1:{FreePort.Get()}/0";
        var options = new RedisResultStoreOptions { ConnectTimeout = TimeSpan.FromSeconds(1) };
        var dual = new DualWriteResultStore(
            await PostgresStoreAsync(), Redacted(PostgresUrl),
            await RedisStoreAsync(unreachable, options, initialise: false), Redacted(unreachable));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => dual.InitializeAsync(Ct).AsTask());
        Assert.Contains($"secondary result backend redis://:***@127.0.0.1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);

        // The same through a silo's start-up.
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePort.Get(), gatewayPort: FreePort.Get(), clusterId: $"dw-start-{Guid.NewGuid():N}");
            silo.Services.AddRedisResultStore(o => o.ConnectTimeout = TimeSpan.FromSeconds(1));
            silo.Services.AddSqlResultStore();
            silo.AddResultGrid(o =>
            {
                o.Backend = PostgresUrl;
                o.SecondaryBackend = unreachable;
            });
        });
        using var host = builder.Build();
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var messages = string.Join(" | ", Causes(failed));
        Assert.Contains("Dual-write mode could not start", messages, StringComparison.Ordinal);
        Assert.Contains("secondary result backend redis://:***@127.0.0.1", messages, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", messages, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Causes(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e.Message;
        }
    }

    [Fact]
    public async Task Claims_give_exactly_one_winner_when_silos_with_swapped_primaries_and_single_backend_silos_race()
    {
        // Two silos mid-switch (A primary on one, B primary on the other), and a silo not yet
        // restarted that claims in one backend only: Redis for even keys, PostgreSQL for odd.
        var oneWay = new DualWriteResultStore(await RedisStoreAsync(), Redacted(_redisUrl), await PostgresStoreAsync(), Redacted(PostgresUrl));
        var otherWay = new DualWriteResultStore(await PostgresStoreAsync(), Redacted(PostgresUrl), await RedisStoreAsync(), Redacted(_redisUrl));
        var (redisOnly, postgresOnly) = (await RedisStoreAsync(), await PostgresStoreAsync());
        var keys = Enumerable.Range(0, 200).Select(i => $"chord:{NewId("claim")}-{i}").ToArray();
        var expires = DateTimeOffset.UtcNow.AddHours(1);

        var answers = await Task.WhenAll(keys.Select((key, i) => Task.WhenAll(
            Task.Run(() => oneWay.TryClaimAsync(key, expires, Ct).AsTask(), Ct),
            Task.Run(() => otherWay.TryClaimAsync(key, expires, Ct).AsTask(), Ct),
            Task.Run(() => (i % 2 == 0 ? redisOnly : postgresOnly).TryClaimAsync(key, expires, Ct).AsTask(), Ct))));

        var winners = answers.Select(a => a.Count(won => won)).ToArray();
        Assert.All(winners, (count, i) => Assert.True(count == 1, $"key {i}: {count} winners"));

        // Once claimed, claimed for everyone.
        var again = await Task.WhenAll(keys.Take(20).Select(k => oneWay.TryClaimAsync(k, expires, Ct).AsTask()));
        Assert.All(again, won => Assert.False(won));
    }

    [Fact]
    public async Task Waiters_are_woken_by_a_write_to_the_secondary_redis_from_outside_the_cluster()
    {
        var dual = new DualWriteResultStore(await PostgresStoreAsync(), Redacted(PostgresUrl), await RedisStoreAsync(), Redacted(_redisUrl));
        var id = NewId("watch");
        var seen = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (await dual.WatchAsync(id, r =>
        {
            seen.TrySetResult(r);
            return Task.CompletedTask;
        }))
        {
            // A Celery worker still writing to the old Redis.
            await dual.Secondary.WriteAsync(Record(id, TaskStates.Success, "\"celery\""), Ct);
            Assert.Equal(TaskStates.Success, (await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct)).State);
        }

        Assert.True(dual.HasChangeFeed);
    }

    [Fact]
    public async Task Without_a_change_feed_on_either_side_a_watch_is_harmless_and_sql_sides_are_both_swept()
    {
        var directory = Directory.CreateTempSubdirectory("rg-dw-sqlite-").FullName;
        try
        {
            var sqlite = $"db+sqlite:///{Path.Combine(directory, "new.db")}";
            var dual = new DualWriteResultStore(await RedisStoreAsync(), Redacted(_redisUrl), await SqlStoreAsync(sqlite), Redacted(sqlite));
            var id = NewId("sweep");
            await dual.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
            Assert.True(await dual.ExpireAsync(id, DateTimeOffset.UtcNow.AddSeconds(-1), Ct));
            Assert.Equal(ResultExistence.Expired, await dual.Secondary.GetExistenceAsync(id, Ct));

            // The SQL secondary's expired row is swept although the primary (Redis) expires by itself.
            var (deleted, _, _) = await ExpiredResults.SweepAsync(dual, DateTimeOffset.UtcNow, 100, TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, cancellationToken: Ct);
            Assert.True(deleted >= 1);
            Assert.Equal(ResultExistence.Pending, await dual.Secondary.GetExistenceAsync(id, Ct));
            Assert.Null(await dual.OldestExpiredAsync(DateTimeOffset.UtcNow, Ct));

            // Redis primary, SQL secondary: searches go to the primary, which has none.
            var query = await Assert.ThrowsAsync<NotSupportedException>(() => dual.QueryAsync(new ResultQuery(), Ct).AsTask());
            Assert.Contains("keeps no queryable tables", query.Message, StringComparison.Ordinal);

            var other = sqlite.Replace("new.db", "other.db", StringComparison.Ordinal);
            var noFeed = new DualWriteResultStore(await PostgresStoreAsync(), Redacted(PostgresUrl), await SqlStoreAsync(other), Redacted(other));
            Assert.False(noFeed.HasChangeFeed);
            await (await noFeed.WatchAsync(id, _ => Task.CompletedTask)).DisposeAsync();
        }
        finally
        {
            foreach (var store in _owned)
            {
                await store.DisposeAsync();
            }

            _owned.Clear();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>ResultGrid:SecondaryBackend is validated like ResultGrid:Backend, and refused where dual-write makes no sense.</summary>
public sealed class DualWriteOptionsTests
{
    private static (ServiceProvider Services, ResultGridOptionsValidator Validator) Validator()
    {
        var services = new ServiceCollection().AddLogging().AddMemoryResultStore().AddRedisResultStore().AddSqlResultStore();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddSingleton<ResultStoreProviderRegistry>();
        var provider = services.BuildServiceProvider();
        return (provider, new ResultGridOptionsValidator(provider.GetRequiredService<ResultStoreProviderRegistry>()));
    }

    private static string? Failure(string backend, string? secondary)
    {
        var (services, validator) = Validator();
        using (services)
        {
            var result = validator.Validate(null, new ResultGridOptions { Backend = backend, SecondaryBackend = secondary });
            return result.Failed ? result.FailureMessage : null;
        }
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6379/0", "db+postgresql://rg@127.0.0.1/resultgrid")]
    [InlineData("db+mysql://rg@db/results", "redis://cache:6379/1")]
    [InlineData("redis://a:6379/0", "redis://a:6379/1")]
    [InlineData("db+sqlite:///data/resultgrid.db", null)]
    [InlineData("db+sqlite:///data/resultgrid.db", "  ")]
    public void Two_different_durable_backends_or_none_pass(string backend, string? secondary) => Assert.Null(Failure(backend, secondary));

    [Theory]
    [InlineData("memory://", "redis://h:6379/0", "ResultGrid:Backend is memory://")]
    [InlineData("redis://h:6379/0", "rpc://", "ResultGrid:SecondaryBackend is rpc://")]
    [InlineData("redis://h:6379/0", "memory://?partitions=4", "memory:// results live in the cluster itself")]
    [InlineData("rpc://", "db+sqlite:///r.db", "rpc:// results are handed out once")]
    public void Memory_and_rpc_are_refused_with_the_reason(string backend, string secondary, string expected)
    {
        var failure = Failure(backend, secondary);
        Assert.NotNull(failure);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        Assert.Contains("nothing to migrate", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_backend_twice_is_refused_without_showing_its_password()
    {
        var failure = Failure("redis://:pw-one@h:6379/0", "REDIS://:pw-two@h:6379/0");
        Assert.NotNull(failure);
        Assert.Contains("ResultGrid:SecondaryBackend is the same backend as ResultGrid:Backend (redis://:***@h:6379/0)", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:6379", "has no scheme")]
    [InlineData("mongodb://db/results", "supported: ")]
    [InlineData("redis://h:6379/0?bogus=1", "unknown parameter 'bogus'")]
    public void An_unusable_secondary_url_is_refused_like_a_backend_url(string secondary, string expected)
    {
        var failure = Failure("db+sqlite:///data/resultgrid.db", secondary);
        Assert.NotNull(failure);
        Assert.Contains("ResultGrid:SecondaryBackend: ", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }
}

/// <summary>
/// The live path end to end: two real silo processes (clustered through a Redis of their own,
/// which no step changes) move their results from an old Redis to PostgreSQL in the guide's
/// three configuration steps, each rolled out one silo at a time while writers keep writing
/// through the cluster. Afterwards every acknowledged result is in PostgreSQL, unchanged.
/// </summary>
public sealed class DualWriteLiveMigrationTests(PostgresCluster postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private sealed record Slot(int SiloPort, int GatewayPort);

    private sealed record Ack(string TaskId, byte[] Payload, string Phase);

    [Fact]
    public async Task A_rolling_migration_from_redis_to_postgresql_under_live_writes_loses_and_alters_nothing()
    {
        var clock = Stopwatch.StartNew();
        await using var oldRedis = new RedisProcess("--appendonly", "no");
        await using var clusterRedis = new RedisProcess("--appendonly", "no");
        await oldRedis.StartAsync();
        await clusterRedis.StartAsync();
        var oldUrl = $"redis://127.0.0.1:{oldRedis.Port}/0";
        var newUrl = postgres.Server.Url;
        var clusterId = $"dw-live-{Guid.NewGuid():N}";
        var slots = new[] { new Slot(FreePort.Get(), FreePort.Get()), new Slot(FreePort.Get(), FreePort.Get()) };
        var dll = ProcessTests.Built("src/Silo", "ResultGrid.Silo");

        Dictionary<string, string> Env(Slot slot, string backend, string? secondary)
        {
            var env = new Dictionary<string, string>
            {
                ["RESULTGRID__BACKEND"] = backend,
                ["RESULTGRID__SILO__CLUSTERING"] = "redis",
                ["RESULTGRID__SILO__CLUSTERINGURL"] = $"redis://127.0.0.1:{clusterRedis.Port}/0",
                ["RESULTGRID__SILO__CLUSTERID"] = clusterId,
                ["RESULTGRID__SILO__SILOPORT"] = Port(slot.SiloPort),
                ["RESULTGRID__SILO__GATEWAYPORT"] = Port(slot.GatewayPort),
            };
            if (secondary is not null)
            {
                env["RESULTGRID__SECONDARYBACKEND"] = secondary;
            }

            return env;
        }

        var silos = new ProcessTests.Running?[2];
        var phase = "step 0: Backend=old";
        var timeline = new List<string>();
        void Enter(string name)
        {
            phase = name;
            timeline.Add($"{clock.Elapsed.TotalSeconds:0.0}s {name}");
        }
        var acks = new ConcurrentQueue<Ack>();
        var failedCalls = 0;
        using var stopWriters = new CancellationTokenSource();
        var writers = new List<Task>();
        IHost? client = null;
        try
        {
            // Step 0: the old backend alone.
            silos[0] = new ProcessTests.Running(dll, Env(slots[0], oldUrl, null));
            silos[1] = new ProcessTests.Running(dll, Env(slots[1], oldUrl, null));
            await Task.WhenAll(silos.Select(s => s!.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(120))));
            Assert.Contains("Single-backend mode", silos[0]!.Output, StringComparison.Ordinal);

            client = await ClientAsync(clusterId, slots);
            var results = client.Services.GetRequiredService<IResultGridClient>();
            var serializer = new ResultSerializer(new ResultSerializationOptions());
            var run = Guid.NewGuid().ToString("N")[..8];
            for (var w = 0; w < 3; w++)
            {
                var writer = w;
                writers.Add(Task.Run(async () =>
                {
                    for (var n = 0; !stopWriters.IsCancellationRequested; n++)
                    {
                        var id = $"dw-live-{run}-{writer}-{n}";
                        var value = $"value of {id}";
                        if (n % 4 == 0)
                        {
                            await UntilAcknowledgedAsync(() => results.UpdateStateAsync(id, "PROGRESS", new { step = n }, cancellationToken: Ct), () => Interlocked.Increment(ref failedCalls));
                        }

                        var phaseAtStart = phase;
                        await UntilAcknowledgedAsync(() => results.MarkSucceededAsync(id, value, cancellationToken: Ct), () => Interlocked.Increment(ref failedCalls));
                        // Acknowledged: from here on it must never go missing.
                        acks.Enqueue(new Ack(id, serializer.Serialize(value).Data, phaseAtStart == phase ? phase : $"{phaseAtStart} / {phase}"));
                        await Task.Delay(15, Ct);
                    }
                }, Ct));
            }

            async Task WriteForAWhileAsync(string name)
            {
                Enter(name);
                var before = acks.Count;
                var until = Stopwatch.StartNew();
                while (acks.Count - before < 100 || until.Elapsed < TimeSpan.FromSeconds(1))
                {
                    Assert.True(until.Elapsed < TimeSpan.FromSeconds(60), $"writers acknowledged {acks.Count - before} results in 60 s of {name}");
                    Assert.DoesNotContain(writers, t => t.IsFaulted);
                    await Task.Delay(50, Ct);
                }
            }

            async Task RollingRestartAsync(string step, string backend, string? secondary, string expectedMode)
            {
                for (var i = 0; i < silos.Length; i++)
                {
                    Enter($"{step}: silo {i} restarting");
                    await StopGracefullyAsync(silos[i]!);
                    silos[i] = null;
                    silos[i] = new ProcessTests.Running(dll, Env(slots[i], backend, secondary));
                    await silos[i]!.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(120));
                    Assert.Contains(expectedMode, silos[i]!.Output, StringComparison.Ordinal);
                    // Mixed: one silo on the new configuration, the other still on the previous one.
                    await WriteForAWhileAsync($"{step}: silo {i} restarted");
                }
            }

            await WriteForAWhileAsync("step 0: Backend=old");

            // Step 1: Backend=old, SecondaryBackend=new, silo by silo.
            await RollingRestartAsync("step 1", oldUrl, newUrl, "Dual-write mode");

            // Then the results the old backend held before every silo dual-wrote.
            Enter("step 1: copying old to new");
            // The real tool, while the writers go on: it adds only what the new backend lacks,
            // so nothing dual-write already put there is replaced. (The verify pass comes once
            // the writers have stopped: a result moving from PROGRESS to SUCCESS between the two
            // reads of a live verify would count as a difference.)
            var state = Path.Combine(Directory.CreateTempSubdirectory("rg-dw-migrate-").FullName, "state.json");
            long copied;
            var (migrated, report, migrateError) = await MigrateAsync("--from", oldUrl, "--to", newUrl, "--state", state, "--no-verify", "--json");
            Assert.True(migrated == 0, report + migrateError);
            using (var copy = System.Text.Json.JsonDocument.Parse(report))
            {
                copied = copy.RootElement.GetProperty("copy").GetProperty("results_added").GetInt64();
                Assert.True(copied > 0, "the copy found nothing to copy: the results of step 0 should have been missing from the new backend: " + report);
            }

            await WriteForAWhileAsync("step 1: copied");

            // Step 2: reads switch to the new backend; the old one still receives every write.
            await RollingRestartAsync("step 2", newUrl, oldUrl, "Dual-write mode");

            // Step 3: the new backend alone.
            await RollingRestartAsync("step 3", newUrl, null, "Single-backend mode");
            Enter("writers stopping");
            await stopWriters.CancelAsync();
            await Task.WhenAll(writers);

            // Every result the old backend holds is in the new one. (Not necessarily the same
            // version: from step 3 on, writes go to the new backend alone, so a result whose
            // PROGRESS reached both and whose SUCCESS came during step 3 differs, as it should; the
            // checks below hold the new backend to every acknowledged SUCCESS.)
            var (_, verification, _) = await MigrateAsync("--from", oldUrl, "--to", newUrl, "--verify-only", "--json");
            using (var verify = System.Text.Json.JsonDocument.Parse(verification))
            {
                Assert.Equal(0, verify.RootElement.GetProperty("verify").GetProperty("missing").GetInt64());
                Assert.True(verify.RootElement.GetProperty("verify").GetProperty("source_results").GetInt64() > 0, verification);
            }

            // The old backend is gone for good: nothing may depend on it now.
            await oldRedis.KillAsync();

            var all = acks.ToArray();
            var problems = new List<string>();
            var newStore = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(newUrl), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
            await using (newStore)
            {
                await newStore.InitializeAsync(Ct);
                foreach (var batch in all.Chunk(500))
                {
                    var read = await newStore.ReadManyAsync(batch.Select(a => a.TaskId).ToArray(), Ct);
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var (ack, stored) = (batch[i], read[i]);
                        if (stored is null)
                        {
                            problems.Add($"{ack.TaskId} (acknowledged in {ack.Phase}): missing");
                        }
                        else if (stored.State != TaskStates.Success || !stored.Payload!.Data.AsSpan().SequenceEqual(ack.Payload))
                        {
                            problems.Add($"{ack.TaskId} (acknowledged in {ack.Phase}): {stored.State} {Encoding.UTF8.GetString(stored.Payload?.Data ?? [])}");
                        }
                    }
                }
            }

            Assert.True(problems.Count == 0, $"{problems.Count} of {all.Length} acknowledged results missing or altered in the new backend:\n{string.Join('\n', problems.Take(20))}");

            // Every step and every half-restarted cluster had writers acknowledging results.
            var phases = all.GroupBy(a => a.Phase).ToDictionary(g => g.Key, g => g.Count());
            foreach (var expected in new[]
            {
                "step 0: Backend=old", "step 1: silo 0 restarted", "step 1: silo 1 restarted", "step 1: copied",
                "step 2: silo 0 restarted", "step 2: silo 1 restarted", "step 3: silo 0 restarted", "step 3: silo 1 restarted",
            })
            {
                Assert.True(phases.GetValueOrDefault(expected) > 0, $"no result acknowledged during '{expected}': {string.Join(", ", phases.Select(p => $"{p.Key}={p.Value}"))}");
            }

            // And the cluster reads them from the new backend alone.
            foreach (var ack in all.Where((_, i) => i % Math.Max(1, all.Length / 50) == 0))
            {
                var read = await results.GetAsync(ack.TaskId, Ct);
                Assert.Equal(TaskStates.Success, read.State);
            }

            TestContext.Current.TestOutputHelper?.WriteLine(
                $"dual-write migration: {all.Length} results acknowledged ({string.Join(", ", phases.Select(p => $"{p.Key}={p.Value}"))}), " +
                $"{copied} copied, {failedCalls} failed calls retried, {clock.Elapsed.TotalSeconds:0.0} s\n{string.Join('\n', timeline)}");
        }
        finally
        {
            await stopWriters.CancelAsync();
            try
            {
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The assertion that failed says more.
            }

            client?.Dispose();
            foreach (var silo in silos)
            {
                if (silo is not null)
                {
                    await silo.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task A_silo_whose_secondary_cannot_be_reached_exits_1_naming_it_without_its_password()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__BACKEND"] = postgres.Server.Url,
            ["RESULTGRID__SECONDARYBACKEND"] = $"redis://:s3cret-pw@127.0.0.1:{FreePort.Get()}/0",
            ["RESULTGRID__REDIS__CONNECTTIMEOUT"] = "00:00:01",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__CLUSTERID"] = $"dw-bad-{Guid.NewGuid():N}",
        });

        Assert.Equal(1, await silo.Exit(TimeSpan.FromSeconds(90)));
        Assert.Contains("secondary result backend redis://:***@127.0.0.1", silo.Error, StringComparison.Ordinal);
        Assert.Contains("ResultGrid:SecondaryBackend", silo.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", silo.Error + silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dual_write_with_networked_clustering_needs_a_clustering_url_of_its_own()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__BACKEND"] = "redis://127.0.0.1:6379/0",
            ["RESULTGRID__SECONDARYBACKEND"] = "db+postgresql://rg@127.0.0.1/resultgrid",
            ["RESULTGRID__SILO__CLUSTERING"] = "redis",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
        });

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("ResultGrid:Silo:ClusteringUrl is not", silo.Error, StringComparison.Ordinal);
    }

    /// <summary><c>resultgrid migrate</c>, the real program: exit code, stdout, stderr.</summary>
    private static async Task<(int Exit, string Output, string Error)> MigrateAsync(params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: ["migrate", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromMinutes(2));
        return (exit, cli.Output, cli.Error);
    }

    /// <summary>
    /// A writer's retry loop: a call that failed (a silo stopping under it, a gateway gone) was
    /// not acknowledged and is made again, with the same value, until it is.
    /// </summary>
    private static async Task UntilAcknowledgedAsync(Func<Task<WriteOutcome>> write, Action onFailure)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception) when (clock.Elapsed < TimeSpan.FromSeconds(90) && !Ct.IsCancellationRequested)
            {
                onFailure();
                await Task.Delay(100, Ct);
            }
        }
    }

    /// <summary>An operator's restart: SIGTERM, and the silo leaves the cluster cleanly.</summary>
    private static async Task StopGracefullyAsync(ProcessTests.Running silo)
    {
        using (var kill = Process.Start("kill", ["-TERM", silo.Process.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync(Ct);
        }

        using var patience = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        patience.CancelAfter(TimeSpan.FromSeconds(60));
        await silo.Process.WaitForExitAsync(patience.Token);
        await silo.DisposeAsync();
    }

    /// <summary>A client that knows both gateways, so it keeps writing while either silo restarts.</summary>
    private static async Task<IHost> ClientAsync(string clusterId, Slot[] slots)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c =>
        {
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "resultgrid"));
            c.UseStaticClustering(slots.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray());
            c.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
            c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            c.AddResultGridClient();
        });
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }
}
