using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// Coalesced writes (ResultGrid:Redis:CoalesceWrites): many writes in one script call, each with
/// its own outcome, TTL, document and publish, as Celery's clients see them; a lost connection
/// acknowledging nothing that is not stored; one call per hash slot on Redis Cluster.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisCoalescedWriteTests(RedisCluster cluster) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private string _url = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IDatabase Db => _redis.GetDatabase(0);

    public async ValueTask InitializeAsync()
    {
        _url = await cluster.Server.UrlAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port},allowAdmin=true");
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private static async Task<RedisResultStore> Connect(string url, RedisResultStoreOptions? options = null)
    {
        options ??= new RedisResultStoreOptions();
        var parsed = BackendUrl.Parse(url);
        Assert.Null(RedisStoreSettings.Validate(parsed, options));
        var store = new RedisResultStore(RedisStoreSettings.Create(parsed, options), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static TaskResult Result(string id, string state, string json, TimeSpan? expires = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = expires is { } e ? DateTimeOffset.UtcNow + e : null,
    };

    private static string NewId(string what) => $"coalesce-{what}-{Guid.NewGuid():N}";

    [Fact]
    public async Task One_batch_with_mixed_outcomes_answers_each_write_for_its_own_key()
    {
        await using var store = await Connect(_url);
        var kept = Enumerable.Range(0, 5).Select(_ => NewId("kept")).ToArray();
        var fresh = Enumerable.Range(0, 5).Select(_ => NewId("fresh")).ToArray();
        var started = NewId("started");
        foreach (var id in kept)
        {
            Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(id, TaskStates.Success, "\"first\"", TimeSpan.FromHours(1)), Ct)).Outcome);
        }

        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(started, TaskStates.Started, "null", TimeSpan.FromHours(1)), Ct)).Outcome);
        var keptBytes = await Task.WhenAll(kept.Select(id => Db.StringGetAsync(RedisResultStore.TaskKeyPrefix + id)));

        // Interleaved, one call: a FAILURE over each SUCCESS (kept), new results, a SUCCESS over a STARTED.
        var batch = kept.Zip(fresh, (k, f) => new[] { Result(k, TaskStates.Failure, "\"second\"", TimeSpan.FromHours(1)), Result(f, TaskStates.Success, $"\"{f}\"", TimeSpan.FromHours(1)) })
            .SelectMany(pair => pair).Append(Result(started, TaskStates.Success, "\"done\"", TimeSpan.FromHours(1))).ToArray();
        var (callsBefore, _) = store.BatchCounts;
        var answers = (await store.WriteBatchAsync(batch)).Select(a => a.Unwrap()).ToArray();
        Assert.Equal(callsBefore + 1, store.BatchCounts.Calls);

        for (var i = 0; i < batch.Length; i++)
        {
            var key = RedisResultStore.TaskKeyPrefix + batch[i].TaskId;
            var stored = (byte[])(await Db.StringGetAsync(key))!;
            if (kept.Contains(batch[i].TaskId))
            {
                Assert.Equal(WriteOutcome.KeptSuccess, answers[i].Outcome);
                Assert.Equal(TaskStates.Success, answers[i].Current!.State);
                Assert.Equal("\"first\"", System.Text.Encoding.UTF8.GetString(answers[i].Current!.Payload!.Data));
                Assert.Equal((byte[])keptBytes[Array.IndexOf(kept, batch[i].TaskId)]!, stored);
            }
            else
            {
                Assert.Equal(WriteOutcome.Stored, answers[i].Outcome);
                Assert.Equal(CeleryDocument.Encode(batch[i]), stored);
            }
        }
    }

    [Fact]
    public async Task With_single_retrieval_a_consumed_key_in_a_batch_answers_already_consumed()
    {
        await using var store = await Connect(_url + "?single_retrieval=true");
        var consumed = NewId("consumed");
        var fresh = NewId("fresh");
        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(consumed, TaskStates.Success, "1", TimeSpan.FromHours(1)), Ct)).Outcome);
        Assert.NotNull(await store.ConsumeAsync(consumed, Ct));

        var answers = (await store.WriteBatchAsync([Result(consumed, TaskStates.Success, "2", TimeSpan.FromHours(1)), Result(fresh, TaskStates.Success, "3", TimeSpan.FromHours(1))]))
            .Select(a => a.Unwrap()).ToArray();
        Assert.Equal(WriteOutcome.AlreadyConsumed, answers[0].Outcome);
        Assert.Equal(WriteOutcome.Stored, answers[1].Outcome);
        Assert.Equal(TaskStates.Consumed, (await store.ReadAsync(consumed, Ct))!.State);
    }

    [Fact]
    public async Task Each_write_in_a_batch_gets_its_own_ttl()
    {
        await using var store = await Connect(_url);
        var expiries = new TimeSpan?[] { TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), TimeSpan.FromHours(5), null, TimeSpan.FromDays(2) };
        var batch = expiries.Select(e => Result(NewId("ttl"), TaskStates.Success, "1", e)).ToArray();
        foreach (var answer in await store.WriteBatchAsync(batch))
        {
            Assert.Equal(WriteOutcome.Stored, answer.Unwrap().Outcome);
        }

        for (var i = 0; i < batch.Length; i++)
        {
            var pttl = (long)await Db.ExecuteAsync("PTTL", RedisResultStore.TaskKeyPrefix + batch[i].TaskId);
            if (expiries[i] is { } expiry)
            {
                // Within the 5 s this test may take, and never longer than asked.
                Assert.InRange(pttl, (long)(expiry - TimeSpan.FromSeconds(5)).TotalMilliseconds, (long)expiry.TotalMilliseconds);
            }
            else
            {
                Assert.Equal(-1, pttl);
            }
        }
    }

    [Fact]
    public async Task Each_write_in_a_batch_is_published_on_its_own_channel_with_its_own_document_and_a_kept_one_is_not()
    {
        await using var store = await Connect(_url);
        var kept = NewId("kept");
        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(kept, TaskStates.Success, "0"), Ct)).Outcome);
        var batch = Enumerable.Range(0, 20).Select(i => Result(NewId("pub"), i % 2 == 0 ? TaskStates.Success : TaskStates.Failure, $"{i}", TimeSpan.FromHours(1)))
            .Append(Result(kept, TaskStates.Failure, "1")).ToArray();

        // Celery subscribes to the channel named like the key; a pattern sees every one of them.
        var received = new ConcurrentDictionary<string, ConcurrentBag<byte[]>>();
        var subscriber = _redis.GetSubscriber();
        var pattern = RedisChannel.Pattern(RedisResultStore.TaskKeyPrefix + "coalesce-*");
        await subscriber.SubscribeAsync(pattern, (channel, message) =>
            received.GetOrAdd(channel.ToString(), _ => []).Add((byte[])message!));
        try
        {
            foreach (var answer in (await store.WriteBatchAsync(batch))[..^1])
            {
                Assert.Equal(WriteOutcome.Stored, answer.Unwrap().Outcome);
            }

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (received.Count < batch.Length - 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, Ct);
            }

            // A PING after the publishes: everything published before it has arrived on the subscription.
            await subscriber.PingAsync();
            await Task.Delay(100, Ct);
            foreach (var write in batch[..^1])
            {
                var messages = Assert.Single(received[RedisResultStore.TaskKeyPrefix + write.TaskId]);
                Assert.Equal(CeleryDocument.Encode(write), messages);
            }

            Assert.False(received.ContainsKey(RedisResultStore.TaskKeyPrefix + kept));
        }
        finally
        {
            await subscriber.UnsubscribeAsync(pattern);
        }
    }

    [Fact]
    public async Task Concurrent_writes_share_script_calls_and_with_coalesce_writes_off_go_alone()
    {
        await using var coalescing = await Connect(_url);
        var ids = Enumerable.Range(0, 2000).Select(_ => NewId("burst")).ToArray();
        var outcomes = await Task.WhenAll(ids.Select(id => coalescing.WriteAsync(Result(id, TaskStates.Success, "1", TimeSpan.FromHours(1)), Ct).AsTask()));
        Assert.All(outcomes, o => Assert.Equal(WriteOutcome.Stored, o.Outcome));
        var (calls, writes) = coalescing.BatchCounts;
        Assert.True(calls > 0 && writes > calls, $"{writes} writes in {calls} batched calls");
        Assert.Equal(ids.Length, await ExistingAsync(ids));

        await using var alone = await Connect(_url + "?coalesce_writes=false");
        var more = Enumerable.Range(0, 500).Select(_ => NewId("alone")).ToArray();
        var kept = await Task.WhenAll(more.Select(id => alone.WriteAsync(Result(id, TaskStates.Success, "1", TimeSpan.FromHours(1)), Ct).AsTask()));
        Assert.All(kept, o => Assert.Equal(WriteOutcome.Stored, o.Outcome));
        Assert.Equal((0L, 0L), alone.BatchCounts);
        Assert.Equal(more.Length, await ExistingAsync(more));
    }

    private async Task<long> ExistingAsync(string[] ids) =>
        await Db.KeyExistsAsync(ids.Select(id => (RedisKey)(RedisResultStore.TaskKeyPrefix + id)).ToArray());

    [Theory]
    [InlineData("coalesce_writes=true&batch_size=0", "batch_size (ResultGrid:Redis:MaxBatchSize) is 0; it must be from 1 to 1000")]
    [InlineData("batch_size=1001", "batch_size (ResultGrid:Redis:MaxBatchSize) is 1001; it must be from 1 to 1000")]
    [InlineData("batch_window_ms=-1", "batch_window_ms (ResultGrid:Redis:BatchWindow) is -1 ms; it must be from 0 to 1000 milliseconds")]
    [InlineData("writers=0", "writers (ResultGrid:Redis:Writers) is 0; it must be from 1 to 64")]
    [InlineData("coalesce_writes=maybe", "coalesce_writes=maybe is not true or false")]
    public void Bad_batching_parameters_are_refused_naming_the_parameter_and_what_is_allowed(string query, string message)
    {
        var problem = RedisStoreSettings.Validate(BackendUrl.Parse($"redis://127.0.0.1:6379/0?{query}"), new RedisResultStoreOptions());
        Assert.NotNull(problem);
        Assert.Contains(message, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_batching_options_are_refused_too_and_the_url_wins_over_them()
    {
        var url = BackendUrl.Parse("redis://127.0.0.1:6379/0");
        Assert.Contains("batch_size (ResultGrid:Redis:MaxBatchSize) is 5000; it must be from 1 to 1000",
            RedisStoreSettings.Validate(url, new RedisResultStoreOptions { MaxBatchSize = 5000 }), StringComparison.Ordinal);
        Assert.Contains("writers (ResultGrid:Redis:Writers) is 65; it must be from 1 to 64",
            RedisStoreSettings.Validate(url, new RedisResultStoreOptions { Writers = 65 }), StringComparison.Ordinal);

        var merged = RedisStoreSettings.Create(BackendUrl.Parse("redis://127.0.0.1:6379/0?coalesce_writes=off&batch_size=64&batch_window_ms=0.5&writers=3"),
            new RedisResultStoreOptions { CoalesceWrites = true, MaxBatchSize = 500, Writers = 1 });
        Assert.Equal(new RedisWriteBatching(false, TimeSpan.FromMilliseconds(0.5), 64, 3), merged.Batching);
        Assert.Equal(new RedisWriteBatching(true, TimeSpan.Zero, 128, 2), RedisStoreSettings.Create(url, new RedisResultStoreOptions()).Batching);
    }

    /// <summary>
    /// Writers that keep many writes in flight while the fault strikes; returns what each write
    /// was answered: the acknowledged ids with their documents, and how many failed.
    /// </summary>
    private static async Task<(ConcurrentDictionary<string, byte[]> Acknowledged, int Failed)> WriteThroughAsync(RedisResultStore store, Func<Task> fault)
    {
        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        var failed = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 128).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var result = Result(NewId($"fault-{w}-{i}"), TaskStates.Success, $"{{\"writer\":{w},\"n\":{i}}}", TimeSpan.FromHours(1));
                try
                {
                    if ((await store.WriteAsync(result)).Outcome == WriteOutcome.Stored)
                    {
                        acknowledged[result.TaskId] = CeleryDocument.Encode(result);
                    }
                }
                catch (Exception ex) when (ex is RedisException or RedisTimeoutException or ResultStoreUnavailableException)
                {
                    Interlocked.Increment(ref failed);
                    await Task.Delay(5);
                }
            }
        })).ToArray();
        // The fault strikes once batches are flowing (on a loaded machine that can take a while).
        for (var waited = 0; (store.BatchCounts.Calls < 5 || acknowledged.Count < 100) && waited < 30_000; waited += 20)
        {
            await Task.Delay(20, Ct);
        }

        await fault();
        await Task.Delay(300, Ct);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        return (acknowledged, failed);
    }

    private static async Task AssertAllStoredAsync(IDatabase db, ConcurrentDictionary<string, byte[]> acknowledged)
    {
        var ids = acknowledged.Keys.ToArray();
        Assert.NotEmpty(ids);
        var values = await db.StringGetAsync(ids.Select(id => (RedisKey)(RedisResultStore.TaskKeyPrefix + id)).ToArray());
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.False(values[i].IsNull, $"{ids[i]} was acknowledged and is not in Redis");
            Assert.Equal(acknowledged[ids[i]], (byte[])values[i]!);
        }
    }

    [Fact]
    [Trait("Suite", "Fault")]
    public async Task A_connection_killed_mid_batch_acknowledges_nothing_that_is_not_stored()
    {
        // No retries: every write in a batch whose connection died fails, none is answered twice.
        await using var store = await Connect(_url, new RedisResultStoreOptions { Retry = new StoreRetryOptions { MaxRetries = 0 } });
        var (acknowledged, failed) = await WriteThroughAsync(store, async () =>
        {
            // CLIENT KILL from a second connection: the store's connection drops with batches in flight.
            await Db.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        });

        Assert.True(failed > 0, "the killed connection failed no write: the fault hit nothing in flight");
        Assert.True(store.BatchCounts.Writes > store.BatchCounts.Calls, "the writes went alone, not in batches");
        await AssertAllStoredAsync(Db, acknowledged);
    }

    [Fact]
    [Trait("Suite", "Fault")]
    public async Task A_server_paused_past_the_timeout_mid_batch_acknowledges_nothing_that_is_not_stored()
    {
        // A server of its own: the pause holds every client of the server, not only the store's.
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var store = await Connect($"redis://127.0.0.1:{redis.Port}/0?socket_timeout=0.25", new RedisResultStoreOptions { Retry = new StoreRetryOptions { MaxRetries = 0 } });
        await using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var (acknowledged, failed) = await WriteThroughAsync(store, async () =>
        {
            // The server holds every command for 1 s with batches in flight: they time out
            // (retry_on_timeout is off), and Redis runs them afterwards all the same.
            await direct.GetDatabase(0).ExecuteAsync("CLIENT", "PAUSE", "1000", "ALL");
            await Task.Delay(1200, Ct);
        });

        Assert.True(failed > 0, "the pause timed out no write");
        Assert.True(store.BatchCounts.Writes > store.BatchCounts.Calls, "the writes went alone, not in batches");
        await AssertAllStoredAsync(direct.GetDatabase(0), acknowledged);
    }

    [Fact]
    [Trait("Suite", "Fault")]
    public async Task A_server_killed_mid_batch_acknowledges_nothing_it_did_not_store()
    {
        // appendfsync always: Redis answers a write only once it is on disk, so what was
        // acknowledged is there after kill -9 and a restart, and nothing else may be claimed.
        await using var redis = new RedisProcess("--appendonly", "yes", "--appendfsync", "always");
        await redis.StartAsync();
        var url = $"redis://127.0.0.1:{redis.Port}/0?socket_connect_timeout=1";
        ConcurrentDictionary<string, byte[]> acknowledged;
        int failed;
        await using (var store = await Connect(url, new RedisResultStoreOptions { Retry = new StoreRetryOptions { MaxRetries = 0 } }))
        {
            (acknowledged, failed) = await WriteThroughAsync(store, redis.KillAsync);
            Assert.True(store.BatchCounts.Writes > store.BatchCounts.Calls, "the writes went alone, not in batches");
        }

        Assert.True(failed > 0, "kill -9 failed no write");
        await redis.StartAsync();
        await using var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        await AssertAllStoredAsync(direct.GetDatabase(0), acknowledged);
    }

    [Fact]
    public async Task On_redis_cluster_a_burst_over_many_slots_is_stored_with_one_call_per_slot()
    {
        await using var nodes = await RedisClusterNodes.StartAsync(3, Ct);
        await using var store = await Connect($"redis://127.0.0.1:{nodes.Ports[0]}/0");

        // Random ids fall in slots all over the three nodes; a hash tag puts a few in one slot.
        var spread = Enumerable.Range(0, 300).Select(_ => NewId("slots")).ToArray();
        var tagged = Enumerable.Range(0, 10).Select(i => $"{{coalesce-slot}}-{i}-{Guid.NewGuid():N}").ToArray();
        var kept = spread[7];
        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(kept, TaskStates.Success, "\"first\""), Ct)).Outcome);

        var batch = spread.Concat(tagged).Select(id => Result(id, id == kept ? TaskStates.Failure : TaskStates.Success, $"\"{id}\"", TimeSpan.FromHours(1))).ToArray();
        using var direct = await ConnectionMultiplexer.ConnectAsync(string.Join(',', nodes.Ports.Select(p => $"127.0.0.1:{p}")));
        Assert.True(batch.Select(r => direct.HashSlot(RedisResultStore.TaskKeyPrefix + r.TaskId)).Distinct().Count() > 100);

        var answers = (await store.WriteBatchAsync(batch)).Select(a => a.Unwrap()).ToArray();
        // Only writes that share a slot make a multi-key call, one per slot: the tagged ones, and
        // any random ids that happen to fall in one slot (300 over 16,384 slots: a few pairs).
        var shared = batch.GroupBy(r => direct.HashSlot(RedisResultStore.TaskKeyPrefix + r.TaskId)).Where(g => g.Count() > 1).ToArray();
        Assert.Contains(shared, g => g.Count() >= tagged.Length);
        Assert.Equal(((long)shared.Length, (long)shared.Sum(g => g.Count())), store.BatchCounts);
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(batch[i].TaskId == kept ? WriteOutcome.KeptSuccess : WriteOutcome.Stored, answers[i].Outcome);
            var stored = (byte[])(await direct.GetDatabase().StringGetAsync(RedisResultStore.TaskKeyPrefix + batch[i].TaskId))!;
            Assert.Equal(batch[i].TaskId == kept ? "\"first\"" : $"\"{batch[i].TaskId}\"", System.Text.Encoding.UTF8.GetString(CeleryDocument.Decode(batch[i].TaskId, stored).Payload!.Data));
        }

        // And concurrent writes through WriteAsync, coalesced and split by slot.
        var burst = Enumerable.Range(0, 500).Select(_ => NewId("burst")).ToArray();
        var outcomes = await Task.WhenAll(burst.Select(id => store.WriteAsync(Result(id, TaskStates.Success, "1", TimeSpan.FromHours(1)), Ct).AsTask()));
        Assert.All(outcomes, o => Assert.Equal(WriteOutcome.Stored, o.Outcome));
        var read = await store.ReadManyAsync(burst, Ct);
        Assert.All(read, r => Assert.Equal(TaskStates.Success, r!.State));
    }
}
