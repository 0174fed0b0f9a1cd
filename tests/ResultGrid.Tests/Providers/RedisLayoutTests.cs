using System.Text.Json;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>What Redis holds: Celery's keys, documents, TTLs and pub/sub messages.</summary>
[Trait("Backend", "redis")]
public sealed class RedisLayoutTests(RedisCluster cluster) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IDatabase Db => _redis.GetDatabase(0);

    public async ValueTask InitializeAsync() =>
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private static string NewId() => $"layout-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_success_is_stored_under_celerys_key_as_celerys_document_with_its_ttl()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, new Dictionary<string, object?> { ["a"] = new object?[] { 1, 2.5, null, "ü" } },
            new Client.ResultWriteOptions { Expires = TimeSpan.FromSeconds(600) }, Ct);

        var raw = await Db.StringGetAsync($"celery-task-meta-{id}");
        Assert.False(raw.IsNull);
        using var doc = JsonDocument.Parse((string)raw!);
        var root = doc.RootElement;
        Assert.Equal("SUCCESS", root.GetProperty("status").GetString());
        Assert.Equal("""{"a":[1,2.5,null,"\u00FC"]}""", root.GetProperty("result").GetRawText());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("traceback").ValueKind);
        Assert.Equal(id, root.GetProperty("task_id").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", root.GetProperty("date_done").GetString());

        var ttl = await Db.KeyTimeToLiveAsync($"celery-task-meta-{id}");
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(600));
    }

    [Fact]
    public async Task A_json_payload_with_more_than_one_value_is_kept_whole_as_base64_and_the_document_stays_readable()
    {
        // "1 2" is not one JSON value: written raw into Celery's document it would make the whole
        // document unreadable, for Celery and for us. It is kept as base64 with its content type.
        var id = NewId();
        var payload = new ResultPayload { Data = "1 2"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" };
        Assert.Equal(WriteOutcome.Stored, await cluster.External.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, Payload = payload }, cancellationToken: Ct));

        var raw = await Db.StringGetAsync($"celery-task-meta-{id}");
        using var doc = JsonDocument.Parse((string)raw!);
        Assert.Equal(Convert.ToBase64String("1 2"u8), doc.RootElement.GetProperty("result").GetString());
        Assert.Equal("application/json", doc.RootElement.GetProperty("rg_content_type").GetString());
        var read = await cluster.External.GetAsync(id, Ct);
        Assert.Equal("1 2"u8.ToArray(), read.Record.Payload!.Data);
    }

    [Fact]
    public void Documents_encoded_one_after_another_on_a_thread_hold_only_their_own_bytes()
    {
        // The encoder reuses its buffer: a large document before a small one must leave nothing behind.
        var large = new TaskResult { TaskId = "large", State = TaskStates.Success, Payload = new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes($"\"{new string('x', 100_000)}\""), ContentType = "application/json" } };
        var small = new TaskResult { TaskId = "small", State = TaskStates.Success, Payload = new ResultPayload { Data = "7"u8.ToArray(), ContentType = "application/json" } };
        var alone = ResultGrid.Storage.Redis.CeleryDocument.Encode(small);
        ResultGrid.Storage.Redis.CeleryDocument.Encode(large);
        Assert.Equal(alone, ResultGrid.Storage.Redis.CeleryDocument.Encode(small));
        using var doc = JsonDocument.Parse(alone);
        Assert.Equal(7, doc.RootElement.GetProperty("result").GetInt32());
        Assert.Equal("small", doc.RootElement.GetProperty("task_id").GetString());
    }

    [Fact]
    public async Task A_result_kept_forever_has_no_ttl()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, 1, new Client.ResultWriteOptions { Expires = Timeout.InfiniteTimeSpan }, Ct);
        Assert.Null(await Db.KeyTimeToLiveAsync($"celery-task-meta-{id}"));
    }

    [Fact]
    public async Task Every_write_is_published_on_the_channel_named_like_the_key()
    {
        var id = NewId();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"celery-task-meta-{id}"));
        channel.OnMessage(m => received.TrySetResult((string)m.Message!));

        await cluster.External.MarkSucceededAsync(id, "hello", cancellationToken: Ct);

        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Contains("\"status\":\"SUCCESS\"", message, StringComparison.Ordinal);
        Assert.Contains("\"result\":\"hello\"", message, StringComparison.Ordinal);
        await channel.UnsubscribeAsync();
    }

    [Fact]
    public async Task A_failure_is_stored_as_celerys_exception_document()
    {
        var id = NewId();
        await cluster.External.MarkFailedAsync(id, new ArgumentException("bad value"), cancellationToken: Ct);

        using var doc = JsonDocument.Parse((string)(await Db.StringGetAsync($"celery-task-meta-{id}"))!);
        var result = doc.RootElement.GetProperty("result");
        Assert.Equal("ArgumentException", result.GetProperty("exc_type").GetString());
        Assert.Equal("System", result.GetProperty("exc_module").GetString());
        Assert.Equal("bad value", result.GetProperty("exc_message")[0].GetString());
        Assert.Contains("ArgumentException", doc.RootElement.GetProperty("traceback").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Documents_written_by_celery_are_read_with_their_state_value_and_failure()
    {
        // Exactly as Celery 5.2.6 wrote them (../shared/reference/celery-redis-samples.txt).
        var ok = NewId();
        var fail = NewId();
        var progress = NewId();
        await Db.StringSetAsync($"celery-task-meta-{ok}", $$"""{"status": "SUCCESS", "result": {"a": [1, 2.5, null, "\u00fc"]}, "traceback": null, "children": [], "date_done": "2026-11-24T10:16:23.444578", "name": "proj.add", "args": [1, 2], "kwargs": {"z": 3}, "worker": "w1@host", "retries": 0, "queue": "celery", "task_id": "{{ok}}"}""");
        await Db.StringSetAsync($"celery-task-meta-{fail}", $$"""{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["bad value", 42], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\n  File \"/srv/app/tasks.py\", line 9, in <module>\n    raise ValueError(\"bad value\", 42)\nValueError: ('bad value', 42)\n", "children": [], "date_done": "2026-11-24T10:16:23.442966", "name": "proj.add", "args": [1, 2], "kwargs": {"z": 3}, "worker": "w1@host", "retries": 0, "queue": "celery", "task_id": "{{fail}}"}""");
        await Db.StringSetAsync($"celery-task-meta-{progress}", $$"""{"status": "PROGRESS", "result": {"current": 3, "total": 10}, "traceback": null, "children": null, "date_done": null, "task_id": "{{progress}}"}""");

        var value = await cluster.External.WaitAsync<Dictionary<string, JsonElement>>(ok, TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.Equal("""[1, 2.5, null, "\u00fc"]""", value.Value!["a"].GetRawText());
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 16, 23, TimeSpan.Zero).AddTicks(4445780), value.DateDone);
        Assert.Equal("proj.add", value.Info.Name);

        var failed = await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<object>(fail, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal("ValueError", failed.RemoteType);
        Assert.Equal("""["bad value", 42]""", failed.Failure!.ArgumentsJson);
        Assert.Contains("raise ValueError", failed.RemoteTraceback, StringComparison.Ordinal);

        var info = await cluster.External.GetAsync(progress, Ct);
        Assert.Equal("PROGRESS", info.State);
        Assert.Equal(3, info.GetMeta<JsonElement>().GetProperty("current").GetInt32());
    }

    [Fact]
    public async Task A_celery_success_is_never_replaced_by_a_dotnet_write()
    {
        var id = NewId();
        await Db.StringSetAsync($"celery-task-meta-{id}", $$"""{"status": "SUCCESS", "result": 7, "traceback": null, "children": [], "date_done": "2026-11-24T10:09:31.016398", "task_id": "{{id}}"}""");

        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.External.MarkFailedAsync(id, new InvalidOperationException("late"), cancellationToken: Ct));
        Assert.Equal(7, (await cluster.External.GetAsync(id, Ct)).GetValue<int>());
    }

    [Fact]
    public async Task A_waiter_is_woken_at_once_by_a_write_made_outside_resultgrid_as_celery_makes_it()
    {
        // SET then PUBLISH on the key's channel, as Celery's Redis backend writes: no ResultGrid
        // writer is involved, so only the store's change feed can wake the waiter before its
        // next wait slice (2 s in these clusters).
        var id = NewId();
        var wait = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        await Task.Delay(300, Ct);
        var doc = $$"""{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-11-24T10:09:31.016398", "task_id": "{{id}}"}""";

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Db.StringSetAsync($"celery-task-meta-{id}", doc, TimeSpan.FromDays(1));
        await _redis.GetSubscriber().PublishAsync(RedisChannel.Literal($"celery-task-meta-{id}"), doc);

        Assert.Equal(5, (await wait).Value);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(800), $"woken {clock.Elapsed} after the publication");
    }

    [Fact]
    public async Task A_waiter_is_woken_by_a_write_on_redis()
    {
        var id = NewId();
        var wait = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        await Task.Delay(200, Ct);
        Assert.False(wait.IsCompleted);
        await cluster.OnSilo(1).MarkSucceededAsync(id, 11, cancellationToken: Ct);
        Assert.Equal(11, (await wait).Value);
    }

    [Fact]
    public async Task A_payload_that_is_not_json_is_kept_byte_for_byte()
    {
        var id = NewId();
        var bytes = new byte[] { 0, 1, 2, 255, 254 };
        await cluster.OnSilo(0).MarkSucceededAsync(id, bytes, new Client.ResultWriteOptions { Serializer = "raw" }, Ct);

        using var doc = JsonDocument.Parse((string)(await Db.StringGetAsync($"celery-task-meta-{id}"))!);
        Assert.Equal("application/octet-stream", doc.RootElement.GetProperty("rg_content_type").GetString());
        var stored = await cluster.Store().ReadAsync(id, Ct);
        Assert.Equal(bytes, stored!.Payload!.Data);
        Assert.Equal("application/octet-stream", stored.Payload.ContentType);
    }

    [Fact]
    public async Task A_document_that_is_not_celerys_gives_a_clear_error_for_that_result_only()
    {
        var id = NewId();
        await Db.StringSetAsync($"celery-task-meta-{id}", "not json at all");
        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TaskStates.Unreadable, info.State);
        var ex = Assert.Throws<ResultGrid.Serialization.ResultDecodeException>(() => info.GetValue<int>());
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }
}
