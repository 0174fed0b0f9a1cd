using System.Text;

namespace ResultGrid.Tests;

/// <summary>The task runner on memory:// (ignore-result off globally, extended results on).</summary>
[Trait("Backend", "memory")]
public sealed class TaskRunnerTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_submitted_task_stores_its_value_with_extended_fields()
    {
        var handle = await cluster.External.SubmitAsync("test.add", new AddArgs(2, 3), cancellationToken: Ct);

        var outcome = await handle.WaitAsync<int>(Timeout, cancellationToken: Ct);
        Assert.Equal(5, outcome.Value);
        Assert.Equal("test.add", outcome.Info.Name);
        Assert.False(string.IsNullOrEmpty(outcome.Info.Worker));
        Assert.Equal("""{"A":2,"B":3}""", Encoding.UTF8.GetString(outcome.Info.Record.Args!.Data));
        Assert.Equal(0, outcome.Info.Retries);
    }

    [Fact]
    public async Task A_failing_task_stores_failure_with_the_exception()
    {
        var handle = await cluster.OnSilo(1).SubmitAsync("test.fail", "it broke", cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => handle.WaitAsync<int>(Timeout, cancellationToken: Ct));
        Assert.Equal("InvalidOperationException", ex.RemoteType);
        Assert.Equal("it broke", ex.Failure!.Message);
        Assert.Contains("InvalidOperationException", ex.RemoteTraceback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flaky_task_is_retried_and_records_its_retry_count()
    {
        var handle = await cluster.External.SubmitAsync("test.flaky", 2, cancellationToken: Ct);

        var outcome = await handle.WaitAsync<string>(Timeout, cancellationToken: Ct);
        Assert.Equal("ok after 2 retries", outcome.Value);
        Assert.Equal(2, outcome.Info.Retries);
        Assert.Equal(3, TestTasks.Attempts[handle.TaskId]);
    }

    [Fact]
    public async Task Retries_run_out_into_failure()
    {
        var handle = await cluster.External.SubmitAsync("test.flaky", 10, cancellationToken: Ct);

        var outcome = await handle.WaitAsync<string>(Timeout, propagate: false, cancellationToken: Ct);
        Assert.Equal(TaskStates.Failure, outcome.State);
        Assert.Equal("TimeoutException", outcome.Failure!.ExceptionType);
        Assert.Equal(3, outcome.Info.Retries);
        Assert.Equal(4, TestTasks.Attempts[handle.TaskId]);
    }

    [Fact]
    public async Task A_value_too_large_to_store_is_the_task_failure_and_the_handler_is_not_rerun()
    {
        var handle = await cluster.External.SubmitAsync("test.huge", 17, cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => handle.WaitAsync<byte[]>(Timeout, cancellationToken: Ct));
        Assert.Equal("ResultTooLargeException", ex.RemoteType);
        Assert.Contains("MaxResultBytes", ex.Failure!.Message, StringComparison.Ordinal);
        Assert.Equal(1, TestTasks.Attempts[handle.TaskId]);
    }

    [Fact]
    public async Task A_bad_expiry_is_refused_at_submission()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            cluster.External.SubmitAsync("test.add", new AddArgs(1, 1), new Client.SubmitOptions { Expires = TimeSpan.Zero }, Ct));
        Assert.Contains("Timeout.InfiniteTimeSpan", ex.Message, StringComparison.Ordinal);

        var direct = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cluster.Grains.GetGrain<ITaskRunnerGrain>(0).SubmitAsync(
            new TaskSubmission { TaskId = $"t-{Guid.NewGuid():N}", Name = "test.add", Expires = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("positive", direct.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retry_backoff_doubles_and_stops_at_its_maximum()
    {
        var options = new Grains.Tasks.TaskOptions { RetryDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromMinutes(1) };
        Assert.Equal(TimeSpan.FromSeconds(1), Grains.Tasks.TaskExecutor.RetryDelay(options, 1));
        Assert.Equal(TimeSpan.FromSeconds(8), Grains.Tasks.TaskExecutor.RetryDelay(options, 4));
        Assert.Equal(TimeSpan.FromMinutes(1), Grains.Tasks.TaskExecutor.RetryDelay(options, 7));
        Assert.Equal(TimeSpan.FromMinutes(1), Grains.Tasks.TaskExecutor.RetryDelay(options, 5000));
    }

    [Fact]
    public async Task A_retry_is_visible_as_retry_state_with_its_count()
    {
        var id = $"retry-{Guid.NewGuid():N}";
        await cluster.External.MarkRetryAsync(id, new TimeoutException("slow upstream"), 1, cancellationToken: Ct);

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TaskStates.Retry, info.State);
        Assert.Equal(1, info.Retries);
        Assert.Equal("TimeoutException", info.Failure!.ExceptionType);
        Assert.False(info.IsReady);
    }

    [Fact]
    public async Task Track_started_records_started_while_the_task_runs()
    {
        var handle = await cluster.External.SubmitAsync("test.slow", 0, cancellationToken: Ct);
        try
        {
            await WaitForState(handle.TaskId, TaskStates.Started);
        }
        finally
        {
            TestTasks.Gate(handle.TaskId).TrySetResult();
        }

        Assert.Equal("done", (await handle.WaitAsync<string>(Timeout, cancellationToken: Ct)).Value);
    }

    [Fact]
    public async Task A_task_reports_progress_through_its_context()
    {
        var handle = await cluster.External.SubmitAsync("test.progress", 10, cancellationToken: Ct);
        try
        {
            var info = await WaitForState(handle.TaskId, "PROGRESS");
            Assert.Equal(new ProgressMeta(1, 10), info.GetMeta<ProgressMeta>());
        }
        finally
        {
            TestTasks.Gate(handle.TaskId).TrySetResult();
        }

        Assert.Equal("done", (await handle.WaitAsync<string>(Timeout, cancellationToken: Ct)).Value);
    }

    [Fact]
    public async Task A_task_that_ignores_its_result_stores_nothing()
    {
        var handle = await cluster.External.SubmitAsync("test.ignored", new AddArgs(1, 1), cancellationToken: Ct);
        Assert.True(handle.ResultIgnored);
        await Assert.ThrowsAsync<ResultIgnoredException>(() => handle.WaitAsync<int>(Timeout, cancellationToken: Ct));

        // Run a stored task after it on the same runner, then check the ignored one left nothing.
        var after = await cluster.External.SubmitAsync("test.add", new AddArgs(1, 1), cancellationToken: Ct);
        await after.WaitAsync<int>(Timeout, cancellationToken: Ct);
        await Task.Delay(200, Ct);
        Assert.True((await handle.GetAsync(Ct)).IsPending);
    }

    [Fact]
    public async Task Store_errors_even_if_ignored_stores_the_failure()
    {
        var handle = await cluster.External.SubmitAsync("test.ignored-fail", "broken input", cancellationToken: Ct);
        Assert.True(handle.ResultIgnored);
        Assert.True(handle.StoresErrors);

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => handle.WaitAsync<int>(Timeout, cancellationToken: Ct));
        Assert.Equal("ArgumentException", ex.RemoteType);
    }

    [Fact]
    public async Task An_unregistered_task_is_refused_naming_the_registered_ones()
    {
        var ex = await Assert.ThrowsAsync<TaskNotRegisteredException>(() => cluster.External.SubmitAsync("test.nope", cancellationToken: Ct));
        Assert.Contains("test.nope", ex.Message, StringComparison.Ordinal);
        Assert.Contains("test.add", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_submission_can_name_its_task_id()
    {
        var id = $"chosen-{Guid.NewGuid():N}";
        var handle = await cluster.External.SubmitAsync("test.add", new AddArgs(20, 22), new Client.SubmitOptions { TaskId = id }, Ct);
        Assert.Equal(id, handle.TaskId);
        Assert.Equal(42, (await cluster.External.WaitAsync<int>(id, Timeout, cancellationToken: Ct)).Value);
    }

    private async Task<Client.TaskResultInfo> WaitForState(string taskId, string state)
    {
        for (var i = 0; i < 200; i++)
        {
            var info = await cluster.External.GetAsync(taskId, Ct);
            if (info.State == state)
            {
                return info;
            }

            await Task.Delay(25, Ct);
        }

        throw new Xunit.Sdk.XunitException($"task {taskId} never reached {state}");
    }
}
