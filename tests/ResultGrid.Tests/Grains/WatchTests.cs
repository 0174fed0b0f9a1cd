using System.Diagnostics;
using System.Text.Json;
using ResultGrid.Client;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// Watching every state change (what the HTTP API's event streams and a live dashboard need),
/// waiting without an exception at the timeout, and storing a record as given: the SDK and the
/// result grain on a two-silo memory cluster.
/// </summary>
[Trait("Backend", "memory")]
public sealed class WatchTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"watch-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_parked_watch_is_woken_by_a_state_that_is_not_ready_written_through_the_other_silo()
    {
        var id = NewId();
        var grain = cluster.Grains.GetGrain<ITaskResultGrain>(id);
        var seen = TaskResultVersion.Of(await grain.WatchAsync(null, TimeSpan.Zero, Ct));

        // Parked for 2.5 s (below the clusters' 3 s response timeout): a wake, not its end, answers.
        var clock = Stopwatch.StartNew();
        var watch = grain.WatchAsync(seen, TimeSpan.FromMilliseconds(2500), Ct);
        await Task.Delay(200, Ct);
        Assert.False(watch.IsCompleted);
        await cluster.OnSilo(1).UpdateStateAsync(id, "PROGRESS", new { done = 3 }, cancellationToken: Ct);

        var changed = await watch;
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1500), $"the watch answered after {clock.Elapsed}, not woken by the write");
        Assert.Equal("PROGRESS", changed.State);
        Assert.NotEqual(seen, TaskResultVersion.Of(changed));
    }

    [Fact]
    public async Task A_watch_that_has_seen_the_current_version_waits_and_one_that_has_not_answers_at_once()
    {
        var id = NewId();
        await cluster.External.MarkStartedAsync(id, cancellationToken: Ct);
        var grain = cluster.Grains.GetGrain<ITaskResultGrain>(id);
        var current = await grain.WatchAsync(null, TimeSpan.Zero, Ct);
        Assert.Equal(TaskStates.Started, current.State);

        var clock = Stopwatch.StartNew();
        Assert.Equal(TaskStates.Started, (await grain.WatchAsync("not-this-version", TimeSpan.FromSeconds(2), Ct)).State);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"a stale version waited {clock.Elapsed}");

        clock.Restart();
        Assert.Equal(TaskStates.Started, (await grain.WatchAsync(TaskResultVersion.Of(current), TimeSpan.FromMilliseconds(800), Ct)).State);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(700), $"an unchanged result answered after {clock.Elapsed}, before the wait ended");
    }

    [Fact]
    public async Task The_SDK_watch_yields_each_change_once_in_order_and_ends_at_ready()
    {
        var id = NewId();
        var seen = new List<TaskResultInfo>();
        var watching = Task.Run(async () =>
        {
            await foreach (var info in cluster.External.WatchAsync(id, Ct))
            {
                lock (seen)
                {
                    seen.Add(info);
                }
            }
        }, Ct);

        async Task WaitFor(int count)
        {
            for (var i = 0; i < 100 && Count() < count; i++)
            {
                await Task.Delay(50, Ct);
            }

            Assert.Equal(count, Count());
        }

        int Count()
        {
            lock (seen)
            {
                return seen.Count;
            }
        }

        await WaitFor(1);
        await cluster.OnSilo(0).MarkStartedAsync(id, cancellationToken: Ct);
        await WaitFor(2);
        await cluster.OnSilo(1).UpdateStateAsync(id, "PROGRESS", new { done = 1 }, cancellationToken: Ct);
        await WaitFor(3);
        await cluster.OnSilo(0).UpdateStateAsync(id, "PROGRESS", new { done = 2 }, cancellationToken: Ct);
        await WaitFor(4);
        await cluster.OnSilo(1).MarkSucceededAsync(id, 99, cancellationToken: Ct);
        await watching.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(["PENDING", "STARTED", "PROGRESS", "PROGRESS", "SUCCESS"], seen.Select(s => s.State));
        Assert.Equal([1, 2], seen.Where(s => s.State == "PROGRESS").Select(s => s.GetMeta<JsonElement>().GetProperty("done").GetInt32()));
        Assert.Equal(99, seen[^1].GetValue<int>());
    }

    [Fact]
    public async Task WaitUntilReady_returns_the_current_state_at_the_timeout_and_the_result_when_written()
    {
        var id = NewId();
        await cluster.External.UpdateStateAsync(id, "PROGRESS", new { done = 1 }, cancellationToken: Ct);
        var clock = Stopwatch.StartNew();
        var notYet = await cluster.External.WaitUntilReadyAsync(id, TimeSpan.FromMilliseconds(600), Ct);
        Assert.Equal("PROGRESS", notYet.State);
        Assert.False(notYet.IsReady);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(550), $"answered after {clock.Elapsed}, before the timeout");

        var waiting = cluster.External.WaitUntilReadyAsync(id, TimeSpan.FromSeconds(20), Ct);
        await Task.Delay(200, Ct);
        Assert.False(waiting.IsCompleted);
        await cluster.OnSilo(1).MarkSucceededAsync(id, "done", cancellationToken: Ct);
        Assert.Equal("done", (await waiting).GetValue<string>());
    }

    [Fact]
    public async Task A_record_written_as_given_is_stored_as_given_and_never_replaces_success()
    {
        var id = NewId();
        var record = new TaskResult
        {
            TaskId = id,
            State = TaskStates.Success,
            Payload = new ResultPayload { Data = """{"total":7}"""u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
            Worker = "http-bridge",
            Retries = 2,
        };
        Assert.Equal(WriteOutcome.Stored, await cluster.External.WriteAsync(record, TimeSpan.FromHours(1), Ct));
        var read = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(7, read.GetValue<JsonElement>().GetProperty("total").GetInt32());
        Assert.Equal(2, read.Retries);
        Assert.NotNull(read.DateDone);

        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.External.WriteAsync(record with { State = TaskStates.Failure, Payload = null }, cancellationToken: Ct));
        Assert.Equal(TaskStates.Success, (await cluster.External.GetAsync(id, Ct)).State);
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.WriteAsync(record with { TaskId = NewId(), State = TaskStates.Pending }, cancellationToken: Ct));
    }
}

/// <summary>A watch on Redis is woken by a change Celery makes (SET and PUBLISH), through the store's change feed.</summary>
[Trait("Backend", "redis")]
public sealed class RedisWatchTests(RedisCluster cluster) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public async ValueTask InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_progress_stored_by_celery_wakes_a_parked_watch()
    {
        var ct = TestContext.Current.CancellationToken;
        var id = $"watch-{Guid.NewGuid():N}";
        var grain = cluster.Grains.GetGrain<ITaskResultGrain>(id);
        var seen = TaskResultVersion.Of(await grain.WatchAsync(null, TimeSpan.Zero, ct));
        var watch = grain.WatchAsync(seen, TimeSpan.FromMilliseconds(2500), ct);
        await Task.Delay(300, ct);

        var doc = $$"""{"status": "PROGRESS", "result": {"current": 4, "total": 10}, "traceback": null, "children": [], "date_done": null, "task_id": "{{id}}"}""";
        var clock = Stopwatch.StartNew();
        await _redis.GetDatabase(0).StringSetAsync($"celery-task-meta-{id}", doc, TimeSpan.FromDays(1));
        await _redis.GetSubscriber().PublishAsync(RedisChannel.Literal($"celery-task-meta-{id}"), doc);

        var changed = await watch;
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1500), $"woken {clock.Elapsed} after the publication");
        Assert.Equal("PROGRESS", changed.State);
    }
}
