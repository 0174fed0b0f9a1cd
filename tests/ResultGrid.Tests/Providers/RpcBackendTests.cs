using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>rpc://: transient single retrieval through the grains.</summary>
[Trait("Backend", "rpc")]
public sealed class RpcBackendTests(RpcCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"rpc-{Guid.NewGuid():N}";

    [Fact]
    public async Task The_first_retrieval_returns_the_result_and_a_later_read_says_consumed()
    {
        var id = NewId();
        await cluster.OnSilo(0).MarkSucceededAsync(id, "once", cancellationToken: Ct);

        Assert.Equal("once", (await cluster.External.WaitAsync<string>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct)).Value);

        var again = await cluster.External.GetAsync(id, Ct);
        Assert.True(again.IsConsumed);
        Assert.Equal(TaskStates.Consumed, again.State);
        Assert.False(again.IsPending);
        var ex = await Assert.ThrowsAsync<ResultConsumedException>(() => cluster.OnSilo(1).WaitAsync<string>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));
    }

    [Fact]
    public async Task Get_of_a_ready_result_is_a_retrieval_too()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, 7, cancellationToken: Ct);

        // Asking whether it is ready is not a retrieval.
        Assert.True(await cluster.External.IsReadyAsync(id, Ct));
        Assert.True(await cluster.External.IsSuccessfulAsync(id, Ct));
        Assert.Equal(TaskStates.Success, await cluster.External.GetStateAsync(id, Ct));

        Assert.Equal(7, (await cluster.External.GetAsync(id, Ct)).GetValue<int>());
        Assert.True((await cluster.External.GetAsync(id, Ct)).IsConsumed);
    }

    [Fact]
    public async Task States_before_ready_can_be_read_without_consuming()
    {
        var id = NewId();
        await cluster.External.UpdateStateAsync(id, "PROGRESS", new ProgressMeta(1, 3), cancellationToken: Ct);
        Assert.Equal("PROGRESS", (await cluster.External.GetAsync(id, Ct)).State);
        Assert.Equal("PROGRESS", (await cluster.External.GetAsync(id, Ct)).State);

        await cluster.External.MarkSucceededAsync(id, 3, cancellationToken: Ct);
        Assert.Equal(3, (await cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct)).Value);
    }

    [Fact]
    public async Task Of_two_waiters_exactly_one_receives_the_result()
    {
        var id = NewId();
        var first = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        var second = cluster.OnSilo(1).WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        await Task.Delay(300, Ct);

        await cluster.OnSilo(0).MarkSucceededAsync(id, 99, cancellationToken: Ct);

        var results = await Task.WhenAll(Outcome(first), Outcome(second));
        Assert.Single(results, r => r == "99");
        Assert.Single(results, r => r == "consumed");
    }

    private static async Task<string> Outcome(Task<TaskOutcome<int>> wait)
    {
        try
        {
            return (await wait).Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (ResultConsumedException)
        {
            return "consumed";
        }
    }

    [Fact]
    public async Task Waits_racing_their_writes_each_receive_their_result_once_and_at_once()
    {
        var ids = Enumerable.Range(0, 200).Select(_ => NewId()).ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Ct }, async (id, ct) =>
        {
            var wait = cluster.External.WaitAsync<string>(id, TimeSpan.FromSeconds(30), cancellationToken: ct);
            await cluster.OnSilo(id.GetHashCode() & 1).MarkSucceededAsync(id, id, cancellationToken: ct);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Assert.Equal(id, (await wait).Value);
            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1.5));
            Assert.True((await cluster.External.GetAsync(id, ct)).IsConsumed);
        });
    }

    [Fact]
    public async Task A_wait_slice_that_ends_as_the_result_arrives_never_loses_it()
    {
        // Writes land around the end of 100 ms wait slices: a waiter whose slice ended must not
        // have the result taken away on its behalf; its next wait must still receive it.
        var random = new Random(1);
        var cases = Enumerable.Range(0, 600).Select(_ => (Id: NewId(), Jitter: random.Next(-15, 15))).ToArray();
        var lost = 0;
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Ct }, async (c, ct) =>
        {
            var grain = cluster.Grains.GetGrain<ITaskResultGrain>(c.Id);
            var wait = grain.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
            await Task.Delay(100 + c.Jitter, ct);
            await cluster.OnSilo(c.Id.GetHashCode() & 1).MarkSucceededAsync(c.Id, 1, cancellationToken: ct);
            if ((await wait).IsReady)
            {
                return;
            }

            if ((await grain.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None)).State != TaskStates.Success)
            {
                Interlocked.Increment(ref lost);
            }
        });

        Assert.Equal(0, lost);
    }

    [Fact]
    public async Task A_consumed_result_is_not_handed_out_again_by_a_repeated_write()
    {
        var id = NewId();
        await cluster.External.MarkFailedAsync(id, new InvalidOperationException("first"), cancellationToken: Ct);
        await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));

        Assert.Equal(WriteOutcome.AlreadyConsumed, await cluster.External.MarkFailedAsync(id, new InvalidOperationException("redelivered"), cancellationToken: Ct));
        await Assert.ThrowsAsync<ResultConsumedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
    }

    [Fact]
    public async Task With_extended_results_off_extended_fields_are_dropped_and_cannot_refuse_a_result()
    {
        var id = NewId();
        var hugeArgs = new ResultPayload { Data = new byte[16 * 1024 * 1024 + 10], ContentType = "application/octet-stream", ContentEncoding = "binary" };
        Assert.Equal(WriteOutcome.Stored, await cluster.External.MarkSucceededAsync(id, 5, new ResultWriteOptions
        {
            Name = "proj.add",
            Args = hugeArgs,
            Worker = "w1",
            Queue = "q",
            Retries = 2,
        }, Ct));

        var stored = await cluster.Store().ReadAsync(id, Ct);
        Assert.Null(stored!.Name);
        Assert.Null(stored.Args);
        Assert.Null(stored.Worker);
        Assert.Null(stored.Queue);
        Assert.Equal(2, stored.Retries);
    }

    [Fact]
    public async Task A_failure_is_handed_out_once_too()
    {
        var id = NewId();
        await cluster.External.MarkFailedAsync(id, new InvalidOperationException("x"), cancellationToken: Ct);
        await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        await Assert.ThrowsAsync<ResultConsumedException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
    }

    [Fact]
    public async Task Ignore_result_set_globally_stores_nothing_and_a_task_can_override_it()
    {
        var ignored = await cluster.External.SubmitAsync("test.add", new AddArgs(1, 2), cancellationToken: Ct);
        Assert.True(ignored.ResultIgnored);
        await Assert.ThrowsAsync<ResultIgnoredException>(() => ignored.WaitAsync<int>(TimeSpan.FromSeconds(1), cancellationToken: Ct));

        var stored = await cluster.External.SubmitAsync("test.stored", new AddArgs(1, 2), cancellationToken: Ct);
        Assert.False(stored.ResultIgnored);
        Assert.Equal(3, (await stored.WaitAsync<int>(TimeSpan.FromSeconds(10), cancellationToken: Ct)).Value);

        // test.add has run by now (submitted first, on the same runner); nothing was stored for it.
        await Task.Delay(300, Ct);
        Assert.True((await cluster.External.GetAsync(ignored.TaskId, Ct)).IsPending);
    }
}
