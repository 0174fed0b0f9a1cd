using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// The dual-write store over real backends: Redis (the shared redis-server, or one of the
/// test's own where it must go down) and PostgreSQL (the shared fixture's server), each side
/// checked with a store of its own. Every id is the test's own; shared databases hold others'.
/// </summary>
[Trait("Backend", "dualwrite")]
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
        await using (await dual.Capability<IResultChangeFeed>()!.WatchAsync(id, r =>
        {
            seen.TrySetResult(r);
            return Task.CompletedTask;
        }))
        {
            // A Celery worker still writing to the old Redis.
            await dual.Secondary.WriteAsync(Record(id, TaskStates.Success, "\"celery\""), Ct);
            Assert.Equal(TaskStates.Success, (await seen.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct)).State);
        }

        Assert.True(dual.Has<IResultChangeFeed>());
    }

    [Fact]
    public async Task Without_a_change_feed_on_either_side_none_is_offered_and_sql_sides_are_both_swept()
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
            var (deleted, _, _) = await ExpiredResults.SweepAsync(dual.Capability<IExpiredResultSweep>()!, DateTimeOffset.UtcNow, 100, TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeProvider.System, cancellationToken: Ct);
            Assert.True(deleted >= 1);
            Assert.Equal(ResultExistence.Pending, await dual.Secondary.GetExistenceAsync(id, Ct));
            Assert.Null(await dual.Capability<IExpiredResultSweep>()!.OldestExpiredAsync(DateTimeOffset.UtcNow, Ct));

            // Redis primary, SQL secondary: searches go to the primary, which has none.
            Assert.False(dual.Has<IResultQuery>());

            var other = sqlite.Replace("new.db", "other.db", StringComparison.Ordinal);
            var noFeed = new DualWriteResultStore(await PostgresStoreAsync(), Redacted(PostgresUrl), await SqlStoreAsync(other), Redacted(other));
            Assert.False(noFeed.Has<IResultChangeFeed>());
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
