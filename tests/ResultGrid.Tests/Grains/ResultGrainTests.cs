using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Tests;

/// <summary>The result grain and the SDK on a two-silo cluster with memory://.</summary>
[Trait("Backend", "memory")]
public sealed class ResultGrainTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly int[] ArgsOneTwo = [1, 2];

    private static string NewId() => $"grain-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_write_through_one_silo_wakes_waiters_that_came_in_through_the_other_and_the_gateway()
    {
        var id = NewId();
        var onSilo0 = cluster.OnSilo(0).WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        var external = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        await Task.Delay(300, Ct);
        Assert.False(onSilo0.IsCompleted);
        Assert.False(external.IsCompleted);

        Assert.Equal(WriteOutcome.Stored, await cluster.OnSilo(1).MarkSucceededAsync(id, 42, cancellationToken: Ct));

        Assert.Equal(42, (await onSilo0).Value);
        var outcome = await external;
        Assert.Equal(42, outcome.Value);
        Assert.Equal(TaskStates.Success, outcome.State);
        Assert.NotNull(outcome.DateDone);
    }

    [Fact]
    public async Task Waits_racing_their_writes_are_all_woken_without_waiting_for_the_next_slice()
    {
        // The writer writes, then asks the waiter index; a waiter registers, then reads. Either
        // order must wake the waiter at once. A missed wake-up would only be noticed at the next
        // wait slice (2 s here), so every wait must end well before that.
        var ids = Enumerable.Range(0, 300).Select(_ => NewId()).ToArray();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Ct }, async (id, ct) =>
        {
            var wait = cluster.External.WaitAsync<string>(id, TimeSpan.FromSeconds(30), cancellationToken: ct);
            var write = cluster.OnSilo(id.GetHashCode() & 1).MarkSucceededAsync(id, id, cancellationToken: ct);
            var started = Stopwatch.GetTimestamp();
            await write;
            Assert.Equal(id, (await wait).Value);
            var took = Stopwatch.GetElapsedTime(started);
            Assert.True(took < TimeSpan.FromSeconds(1.5), $"{id} woke {took} after its write");
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_wait_longer_than_the_grain_call_timeout_still_receives_the_result()
    {
        var id = NewId();
        var waiter = cluster.External.WaitAsync<string>(id, TimeSpan.FromSeconds(60), cancellationToken: Ct);

        // Three response timeouts: a single grain call would have timed out twice over.
        await Task.Delay(ResultCluster.ResponseTimeout * 3, Ct);
        Assert.False(waiter.IsCompleted);
        await cluster.OnSilo(0).MarkSucceededAsync(id, "late", cancellationToken: Ct);

        Assert.Equal("late", (await waiter).Value);
    }

    [Fact]
    public async Task A_waiter_is_woken_promptly_not_at_the_next_poll()
    {
        var id = NewId();
        var waiter = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await Task.Delay(500, Ct);

        var clock = Stopwatch.StartNew();
        await cluster.OnSilo(1).MarkSucceededAsync(id, 1, cancellationToken: Ct);
        await waiter;

        // Generous for a shared machine; a polling client with a wait slice of seconds would miss it.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"woken after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_wait_that_times_out_names_the_task_and_its_last_state()
    {
        var id = NewId();
        await cluster.External.MarkStartedAsync(id, cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<ResultTimeoutException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromMilliseconds(400), cancellationToken: Ct));
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Started, ex.LastState);
    }

    [Fact]
    public async Task Cancelling_a_wait_ends_it()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var waiter = cluster.External.WaitAsync<int>(NewId(), TimeSpan.FromSeconds(30), cancellationToken: cts.Token);
        await Task.Delay(200, Ct);
        var clock = Stopwatch.StartNew();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_failure_is_stored_as_celery_stores_it_and_propagates_as_a_typed_exception()
    {
        var id = NewId();
        Exception thrown;
        try
        {
            throw new InvalidOperationException("bad value");
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        await cluster.OnSilo(0).MarkFailedAsync(id, thrown, cancellationToken: Ct);

        var stored = await cluster.Store().ReadAsync(id, Ct);
        using (var doc = JsonDocument.Parse(stored!.Payload!.Data))
        {
            Assert.Equal("InvalidOperationException", doc.RootElement.GetProperty("exc_type").GetString());
            Assert.Equal("System", doc.RootElement.GetProperty("exc_module").GetString());
            Assert.Equal("bad value", doc.RootElement.GetProperty("exc_message")[0].GetString());
        }

        Assert.Contains("A_failure_is_stored_as_celery_stores_it", stored.Traceback, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Failure, stored.State);

        var failed = await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal("InvalidOperationException", failed.RemoteType);
        Assert.Equal("bad value", failed.Failure!.Message);
        Assert.Equal("System.InvalidOperationException", failed.Failure.FullTypeName);
        Assert.Contains("A_failure_is_stored_as_celery_stores_it", failed.RemoteTraceback, StringComparison.Ordinal);

        var asValue = await cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), propagate: false, cancellationToken: Ct);
        Assert.False(asValue.IsSuccessful);
        Assert.Equal("InvalidOperationException", asValue.Failure!.ExceptionType);
        Assert.Equal(0, asValue.Value);
    }

    [Fact]
    public async Task A_celery_failure_document_reads_with_its_python_type_and_arguments()
    {
        var id = NewId();
        await cluster.Grains.GetGrain<IResultWriterGrain>(0).WriteAsync(new TaskResult
        {
            TaskId = id,
            State = TaskStates.Failure,
            Payload = new ResultPayload { Data = """{"exc_type": "ValueError", "exc_message": ["bad value", 42], "exc_module": "builtins"}"""u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
            Traceback = "Traceback (most recent call last):\nValueError: ('bad value', 42)\n",
        }, null);

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<object>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal("ValueError", ex.RemoteType);
        Assert.Equal("ValueError", ex.Failure!.FullTypeName);
        Assert.Equal("""["bad value", 42]""", ex.Failure.ArgumentsJson);
        Assert.StartsWith("Traceback", ex.RemoteTraceback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoked_raises_its_own_exception_or_returns_the_failure()
    {
        var id = NewId();
        await cluster.OnSilo(1).MarkRevokedAsync(id, "terminated", cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<TaskRevokedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal("TaskRevokedError", ex.RemoteType);
        Assert.Equal("terminated", ex.Failure!.Message);

        var outcome = await cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), propagate: false, cancellationToken: Ct);
        Assert.Equal(TaskStates.Revoked, outcome.State);
        Assert.Equal("celery.exceptions", outcome.Failure!.ExceptionModule);
    }

    [Fact]
    public async Task A_custom_state_carries_its_meta_and_is_not_ready()
    {
        var id = NewId();
        await cluster.External.UpdateStateAsync(id, "PROGRESS", new ProgressMeta(3, 10), cancellationToken: Ct);

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal("PROGRESS", info.State);
        Assert.False(info.IsReady);
        Assert.Null(info.DateDone);
        Assert.Equal(new ProgressMeta(3, 10), info.GetMeta<ProgressMeta>());
        Assert.Throws<InvalidOperationException>(() => info.GetValue<int>());
    }

    [Fact]
    public async Task Helpers_tell_ready_successful_and_failed()
    {
        var ok = NewId();
        var bad = NewId();
        await cluster.External.MarkSucceededAsync(ok, "x", cancellationToken: Ct);
        await cluster.External.MarkFailedAsync(bad, new ArgumentException("no"), cancellationToken: Ct);

        Assert.True(await cluster.External.IsReadyAsync(ok, Ct));
        Assert.True(await cluster.External.IsSuccessfulAsync(ok, Ct));
        Assert.False(await cluster.External.IsFailedAsync(ok, Ct));
        Assert.True(await cluster.External.IsFailedAsync(bad, Ct));
        Assert.False(await cluster.External.IsSuccessfulAsync(bad, Ct));
        Assert.False(await cluster.External.IsReadyAsync(NewId(), Ct));

        var okInfo = await cluster.External.GetAsync(ok, Ct);
        var badInfo = await cluster.External.GetAsync(bad, Ct);
        Assert.True(okInfo.IsReady && okInfo.IsSuccessful && !okInfo.IsFailed);
        Assert.True(badInfo.IsReady && badInfo.IsFailed && !badInfo.IsSuccessful);
        Assert.Equal("ArgumentException", badInfo.Failure!.ExceptionType);
        Assert.Equal("x", okInfo.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_id_reads_as_pending_and_does_not_exist()
    {
        var id = NewId();
        var info = await cluster.External.GetAsync(id, Ct);
        Assert.True(info.IsPending);
        Assert.Equal(TaskStates.Pending, info.State);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));
    }

    [Fact]
    public async Task Forget_removes_the_result()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        Assert.True(await cluster.External.ExistsAsync(id, Ct));

        Assert.True(await cluster.External.ForgetAsync(id, Ct));

        Assert.False(await cluster.External.ExistsAsync(id, Ct));
        Assert.True((await cluster.External.GetAsync(id, Ct)).IsPending);
        Assert.False(await cluster.External.ForgetAsync(id, Ct));
    }

    [Fact]
    public async Task A_success_is_kept_when_a_later_write_arrives()
    {
        var id = NewId();
        Assert.Equal(WriteOutcome.Stored, await cluster.External.MarkSucceededAsync(id, "first", cancellationToken: Ct));
        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.OnSilo(1).MarkFailedAsync(id, new InvalidOperationException("late"), cancellationToken: Ct));
        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.OnSilo(0).MarkStartedAsync(id, cancellationToken: Ct));

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TaskStates.Success, info.State);
        Assert.Equal("first", info.GetValue<string>());
    }

    [Fact]
    public async Task Date_done_is_set_when_ready_and_not_before()
    {
        var id = NewId();
        await cluster.External.MarkStartedAsync(id, cancellationToken: Ct);
        Assert.Null((await cluster.External.GetAsync(id, Ct)).DateDone);

        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        var done = (await cluster.External.GetAsync(id, Ct)).DateDone;
        Assert.NotNull(done);
        Assert.InRange(done.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task A_per_result_expiry_drops_the_result_on_time_and_the_default_is_one_day()
    {
        var shortLived = NewId();
        var normal = NewId();
        await cluster.External.MarkSucceededAsync(shortLived, 1, new ResultWriteOptions { Expires = TimeSpan.FromSeconds(1) }, Ct);
        await cluster.External.MarkSucceededAsync(normal, 1, cancellationToken: Ct);

        var expiresAt = (await cluster.External.GetAsync(normal, Ct)).ExpiresAt;
        Assert.InRange(expiresAt!.Value, DateTimeOffset.UtcNow.AddDays(1).AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1).AddMinutes(1));
        Assert.True((await cluster.External.GetAsync(shortLived, Ct)).IsSuccessful);

        await Task.Delay(1500, Ct);

        Assert.True((await cluster.External.GetAsync(shortLived, Ct)).IsPending);
        Assert.True((await cluster.External.GetAsync(normal, Ct)).IsSuccessful);
    }

    [Fact]
    public async Task A_result_can_be_kept_forever()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { Expires = Timeout.InfiniteTimeSpan }, Ct);
        Assert.Null((await cluster.External.GetAsync(id, Ct)).ExpiresAt);
    }

    [Fact]
    public async Task Extended_fields_are_stored_when_extended_results_are_on()
    {
        var id = NewId();
        var child = NewId();
        await cluster.External.MarkSucceededAsync(id, 3, new ResultWriteOptions
        {
            Name = "proj.add",
            Args = ArgsOneTwo,
            Kwargs = new Dictionary<string, int> { ["z"] = 3 },
            Worker = "w1@host",
            Queue = "celery",
            Retries = 0,
            GroupId = "g1",
            ParentId = "p1",
            Children = [child],
        }, Ct);

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal("proj.add", info.Name);
        Assert.Equal("[1,2]", Encoding.UTF8.GetString(info.Record.Args!.Data));
        Assert.Equal("""{"z":3}""", Encoding.UTF8.GetString(info.Record.Kwargs!.Data));
        Assert.Equal("w1@host", info.Worker);
        Assert.Equal("celery", info.Queue);
        Assert.Equal("g1", info.GroupId);
        Assert.Equal("p1", info.ParentId);
        Assert.Equal([child], info.Children);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" padded")]
    [InlineData("tab\there")]
    public async Task A_malformed_id_is_refused_with_what_is_allowed(string id)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct));
        Assert.Contains("1 to 255 characters", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.GetAsync(id, Ct));
    }

    [Fact]
    public async Task An_id_over_the_limit_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.GetAsync(new string('a', TaskIds.MaxLength + 1), Ct));
        Assert.Contains("256 characters", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SUCCESS")]
    [InlineData("PENDING")]
    [InlineData("has space")]
    [InlineData("")]
    public async Task Update_state_takes_only_a_valid_custom_state(string state)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.UpdateStateAsync(NewId(), state, 1, cancellationToken: Ct));
        Assert.Contains("state", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_writer_refuses_pending_consumed_and_a_malformed_id()
    {
        var id = NewId();
        var writer = cluster.Grains.GetGrain<IResultWriterGrain>(0);
        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Pending }, null));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Consumed }, null));
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new TaskResult { TaskId = "bad\nid", State = TaskStates.Success }, null));
        Assert.Contains("control character", bad.Message, StringComparison.Ordinal);
        Assert.True((await cluster.External.GetAsync(id, Ct)).IsPending);
    }

    [Fact]
    public async Task Malformed_fields_are_refused_before_anything_is_stored()
    {
        var id = NewId();
        var name = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { Name = "bad\u0000name" }, Ct));
        Assert.Contains("name", name.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { Queue = new string('q', 300) }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { GroupId = " g" }, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { Retries = -1 }, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { Expires = TimeSpan.Zero }, Ct));
        Assert.False(await cluster.External.ExistsAsync(id, Ct));
    }

    [Fact]
    public async Task An_oversized_result_is_refused_whole_and_nothing_is_stored()
    {
        var id = NewId();
        var big = new byte[16 * 1024 * 1024 + 1];
        var ex = await Assert.ThrowsAsync<ResultTooLargeException>(() =>
            cluster.OnSilo(0).MarkSucceededAsync(id, big, new ResultWriteOptions { Serializer = "raw" }, Ct));
        Assert.Equal(big.Length, ex.Size);
        Assert.StartsWith("The result of task", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxResultBytes", ex.Message, StringComparison.Ordinal);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));
    }

    [Fact]
    public async Task A_stored_content_type_outside_the_whitelist_is_refused_by_name()
    {
        var id = NewId();

        // On write: the external client accepts only JSON, so it will not write raw bytes.
        var refused = await Assert.ThrowsAsync<ContentTypeNotAcceptedException>(() =>
            cluster.External.MarkSucceededAsync(id, new byte[] { 1, 2, 3 }, new ResultWriteOptions { Serializer = "raw" }, Ct));
        Assert.Contains("application/octet-stream", refused.Message, StringComparison.Ordinal);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));

        // A silo accepts raw bytes and stores them; the JSON-only client then refuses to read them.
        await cluster.OnSilo(0).MarkSucceededAsync(id, new byte[] { 1, 2, 3 }, new ResultWriteOptions { Serializer = "raw" }, Ct);
        var info = await cluster.External.GetAsync(id, Ct);

        var ex = Assert.Throws<ContentTypeNotAcceptedException>(() => info.GetValue<byte[]>());
        Assert.Contains("application/octet-stream", ex.Message, StringComparison.Ordinal);
        Assert.Contains("accepted: application/json", ex.Message, StringComparison.Ordinal);

        var lenient = new ResultSerializer(new ResultSerializationOptions { AcceptContent = ["json", "raw"] });
        Assert.Equal(new byte[] { 1, 2, 3 }, lenient.Deserialize<byte[]>(id, info.Payload!));
    }

    [Fact]
    public async Task A_corrupt_payload_gives_a_decode_error_for_that_result_only()
    {
        var id = NewId();
        await cluster.Grains.GetGrain<IResultWriterGrain>(0).WriteAsync(new TaskResult
        {
            TaskId = id,
            State = TaskStates.Success,
            Payload = new ResultPayload { Data = "{\"trunc"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
        }, null);

        var ex = await Assert.ThrowsAsync<ResultDecodeException>(() => cluster.External.WaitAsync<ProgressMeta>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);

        // The grain and the cluster are fine: the same id still answers, and others work.
        Assert.Equal(TaskStates.Success, (await cluster.External.GetAsync(id, Ct)).State);
        var other = NewId();
        await cluster.External.MarkSucceededAsync(other, 5, cancellationToken: Ct);
        Assert.Equal(5, (await cluster.External.WaitAsync<int>(other, TimeSpan.FromSeconds(5), cancellationToken: Ct)).Value);
    }

    [Fact]
    public async Task Co_hosted_and_external_sdks_see_the_same_result()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, new ProgressMeta(1, 2), cancellationToken: Ct);
        Assert.Equal(new ProgressMeta(1, 2), (await cluster.OnSilo(0).GetAsync(id, Ct)).GetValue<ProgressMeta>());
        Assert.Equal(new ProgressMeta(1, 2), (await cluster.OnSilo(1).GetAsync(id, Ct)).GetValue<ProgressMeta>());
    }
}
