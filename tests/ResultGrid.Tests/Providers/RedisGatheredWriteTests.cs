using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Client;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// The SDK's gathered writes on Redis: a batch from the batch writer grain goes to the store as
/// it is (IResultStore.WriteManyAsync: one script call per batch_size writes, no trip through the
/// coalescing queue), and each write still has its own outcome, TTL, publish and waiters.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisGatheredWriteTests(RedisCluster cluster) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private static string Key(string id) => RedisResultStore.TaskKeyPrefix + id;

    private static TaskResult Result(string id, int value) => new()
    {
        TaskId = id,
        State = TaskStates.Success,
        Payload = new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes($"{value}"), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = DateTimeOffset.UtcNow,
        ExpiresAt = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(10 + value),
    };

    private (long Calls, long Writes) BatchCounts() => Enumerable.Range(0, cluster.Cluster.Silos.Count)
        .Select(i => ((RedisResultStore)cluster.Store(i)).BatchCounts)
        .Aggregate((a, b) => (a.Calls + b.Calls, a.Writes + b.Writes));

    [Fact(Timeout = 60_000)]
    public async Task Gathered_writes_each_keep_their_own_outcome_ttl_publish_and_waiters()
    {
        var client = cluster.External;
        var ids = Enumerable.Range(0, 240).Select(i => $"gathered-redis-{i}-{Guid.NewGuid():N}").ToArray();

        // Every 8th already SUCCESS: its FAILURE below is kept out and not published.
        for (var i = 0; i < ids.Length; i += 8)
        {
            await client.MarkSucceededAsync(ids[i], -i, cancellationToken: Ct);
        }

        // Waiters parked before the writes, on ids that are written fresh.
        var waited = Enumerable.Range(0, ids.Length).Where(i => i % 8 == 3).ToArray();
        var waits = waited.Select(i => client.WaitAsync<int>(ids[i], TimeSpan.FromSeconds(30), cancellationToken: Ct)).ToArray();
        await Task.Delay(500, Ct);

        var received = new ConcurrentDictionary<string, ConcurrentBag<byte[]>>();
        var subscriber = _redis.GetSubscriber();
        var pattern = RedisChannel.Pattern(RedisResultStore.TaskKeyPrefix + "gathered-redis-*");
        await subscriber.SubscribeAsync(pattern, (channel, message) => received.GetOrAdd(channel.ToString(), _ => []).Add((byte[])message!));
        try
        {
            var before = BatchCounts();
            var outcomes = await Task.WhenAll(ids.Select((id, i) => i % 8 == 0
                ? client.MarkFailedAsync(id, new InvalidOperationException($"late {i}"), new ResultWriteOptions { Expires = TimeSpan.FromMinutes(10 + i) }, Ct)
                : client.MarkSucceededAsync(id, i, new ResultWriteOptions { Expires = TimeSpan.FromMinutes(10 + i) }, Ct)));
            var after = BatchCounts();

            // Gathered: far fewer script calls than writes carried the fresh ones.
            Assert.True(after.Writes - before.Writes >= ids.Length / 2, $"of {ids.Length} writes in flight together, {after.Writes - before.Writes} went in multi-key script calls");
            Assert.True(after.Calls - before.Calls < (after.Writes - before.Writes) / 4, $"{after.Writes - before.Writes} writes took {after.Calls - before.Calls} script calls");

            var db = _redis.GetDatabase(0);
            for (var i = 0; i < ids.Length; i++)
            {
                var read = await client.GetAsync(ids[i], Ct);
                if (i % 8 == 0)
                {
                    Assert.Equal(WriteOutcome.KeptSuccess, outcomes[i]);
                    Assert.Equal(-i, read.GetValue<int>());
                    continue;
                }

                Assert.Equal(WriteOutcome.Stored, outcomes[i]);
                Assert.Equal(i, read.GetValue<int>());
                var ttl = await db.KeyTimeToLiveAsync(Key(ids[i]));
                Assert.NotNull(ttl);
                Assert.InRange(ttl.Value, TimeSpan.FromMinutes(10 + i) - TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10 + i));
            }

            foreach (var (i, wait) in waited.Zip(waits))
            {
                Assert.Equal(i, (await wait).Value);
            }

            // A PING after the publishes: everything published before it has arrived on the subscription.
            await subscriber.PingAsync();
            await Task.Delay(200, Ct);
            for (var i = 0; i < ids.Length; i++)
            {
                if (i % 8 == 0)
                {
                    // Published once, by its first SUCCESS (before the subscription), never by the kept FAILURE.
                    Assert.False(received.ContainsKey(Key(ids[i])), $"the kept write of {ids[i]} was published");
                }
                else
                {
                    var message = Assert.Single(received[Key(ids[i])]);
                    Assert.Equal((byte[])(await db.StringGetAsync(Key(ids[i])))!, message);
                }
            }
        }
        finally
        {
            await subscriber.UnsubscribeAsync(pattern);
        }
    }

    private async Task<RedisResultStore> Connect(string query)
    {
        var parsed = BackendUrl.Parse(await cluster.Server.UrlAsync() + query);
        var options = new RedisResultStoreOptions();
        Assert.Null(RedisStoreSettings.Validate(parsed, options));
        var store = new RedisResultStore(RedisStoreSettings.Create(parsed, options), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_many_goes_in_calls_of_batch_size_answering_each_write_in_order()
    {
        await using var store = await Connect("?batch_size=50");
        var kept = $"gathered-many-kept-{Guid.NewGuid():N}";
        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Result(kept, 0), Ct)).Outcome);
        var results = Enumerable.Range(1, 199).Select(i => Result($"gathered-many-{i}-{Guid.NewGuid():N}", i)).ToList();
        results.Insert(77, Result(kept, 77) with { State = TaskStates.Failure });

        var before = store.BatchCounts;
        var answers = await ((IResultStore)store).WriteManyAsync(results, Ct);
        var after = store.BatchCounts;

        // 200 writes of at most 50 per call: 4 calls.
        Assert.Equal((before.Calls + 4, before.Writes + 200), after);
        Assert.Equal(results.Count, answers.Length);
        for (var i = 0; i < results.Count; i++)
        {
            Assert.Null(answers[i].Error);
            if (results[i].TaskId == kept)
            {
                Assert.Equal(WriteOutcome.KeptSuccess, answers[i].Unwrap().Outcome);
                Assert.Equal(TaskStates.Success, (await store.ReadAsync(kept, Ct))!.State);
            }
            else
            {
                Assert.Equal(WriteOutcome.Stored, answers[i].Unwrap().Outcome);
                Assert.Equal(results[i].Payload!.Data, (await store.ReadAsync(results[i].TaskId, Ct))!.Payload!.Data);
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task With_coalesce_writes_off_write_many_writes_each_alone()
    {
        await using var store = await Connect("?coalesce_writes=false");
        var results = Enumerable.Range(1, 30).Select(i => Result($"gathered-alone-{i}-{Guid.NewGuid():N}", i)).ToArray();
        var answers = await ((IResultStore)store).WriteManyAsync(results, Ct);
        Assert.Equal((0L, 0L), store.BatchCounts);
        Assert.All(answers, a => Assert.Equal(WriteOutcome.Stored, a.Unwrap().Outcome));
        foreach (var result in results)
        {
            Assert.NotNull(await store.ReadAsync(result.TaskId, Ct));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_store_closed_under_write_many_answers_each_write_with_an_error_and_acknowledges_none()
    {
        var store = await Connect("");
        await store.DisposeAsync();
        var results = Enumerable.Range(1, 20).Select(i => Result($"gathered-closed-{i}-{Guid.NewGuid():N}", i)).ToArray();
        var answers = await ((IResultStore)store).WriteManyAsync(results, Ct);
        Assert.All(answers, a =>
        {
            Assert.Null(a.Result);
            Assert.NotNull(a.Error);
        });
        var db = _redis.GetDatabase(0);
        foreach (var result in results)
        {
            Assert.False(await db.KeyExistsAsync(Key(result.TaskId)));
        }
    }
}
