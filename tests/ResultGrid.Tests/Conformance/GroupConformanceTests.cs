using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// The group contract, on a two-silo cluster: pushed counts, ordered joins, streams, a group
/// restored from the store. Every backend's subclass is in its Providers/&lt;Backend&gt;.cs and
/// supplies the cluster (a fixture of Infrastructure/), so a new backend runs every test here.
/// </summary>
public abstract class GroupConformanceTests(ResultCluster cluster)
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected static string NewId(string prefix = "g") => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_ten_thousand_task_group_written_through_one_silo_is_joined_in_order_through_the_other()
    {
        var gid = NewId();
        var ids = Enumerable.Range(0, 10_000).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        var join = cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(120), cancellationToken: Ct);

        // Children finish in scrambled order, written through silo 1.
        var order = Enumerable.Range(0, ids.Length).OrderBy(i => (i * 7919) % ids.Length).ToArray();
        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Ct }, async (i, ct) =>
            await cluster.OnSilo(1).MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, ct));

        var outcomes = await join;
        Assert.Equal(Enumerable.Range(0, 10_000), outcomes.Select(o => o.Value));
        var status = await cluster.OnSilo(0).GetGroupAsync(gid, Ct);
        Assert.True(status.IsReady);
        Assert.Equal((10_000, 10_000, 0, 0), (status.Completed, status.Succeeded, status.Failed, status.Waiting));
    }

    [Fact]
    public async Task A_submitted_group_runs_on_the_workers_and_joins()
    {
        var handle = await cluster.External.SubmitGroupAsync("test.add", Enumerable.Range(0, 50).Select(i => (object?)new AddArgs(i, i)), cancellationToken: Ct);
        Assert.Equal(50, handle.TaskIds.Count);
        var sums = await handle.JoinAsync<int>(TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 2), sums.Select(o => o.Value));
        Assert.True((await handle.GetStatusAsync(Ct)).IsReady);
    }

    [Fact]
    public async Task A_failure_propagates_from_join_or_comes_back_as_a_value()
    {
        var gid = NewId();
        var ids = new[] { $"{gid}-a", $"{gid}-b", $"{gid}-c" };
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync(ids[0], 1, new ResultWriteOptions { GroupId = gid }, Ct);
        await cluster.External.MarkFailedAsync(ids[1], new InvalidOperationException("child broke"), new ResultWriteOptions { GroupId = gid }, Ct);
        await cluster.External.MarkSucceededAsync(ids[2], 3, new ResultWriteOptions { GroupId = gid }, Ct);

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(10), cancellationToken: Ct));
        Assert.Equal(ids[1], ex.TaskId);
        Assert.Equal("child broke", ex.Failure!.Message);

        var outcomes = await cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(10), propagate: false, cancellationToken: Ct);
        Assert.Equal([1, 0, 3], outcomes.Select(o => o.Value));
        Assert.Equal("InvalidOperationException", outcomes[1].Failure!.ExceptionType);

        var status = await cluster.External.GetGroupAsync(gid, Ct);
        Assert.Equal((3, 2, 1), (status.Completed, status.Succeeded, status.Failed));
    }

    [Fact]
    public async Task As_completed_streams_every_child_in_the_order_they_finish()
    {
        var gid = NewId();
        var ids = Enumerable.Range(0, 12).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        var finishOrder = new[] { 5, 0, 11, 3, 7, 1, 9, 2, 10, 4, 8, 6 };

        var streamed = new List<int>();
        var reader = Task.Run(async () =>
        {
            await foreach (var outcome in cluster.OnSilo(0).AsCompletedAsync<int>(gid, TimeSpan.FromSeconds(30), Ct))
            {
                streamed.Add(outcome.Value);
            }
        }, Ct);

        foreach (var i in finishOrder)
        {
            await cluster.OnSilo(1).MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct);
            await Task.Delay(20, Ct);
        }

        await reader;
        Assert.Equal(finishOrder, streamed);
    }

    [Fact]
    public async Task Children_finished_before_the_group_was_saved_are_counted()
    {
        var gid = NewId();
        var ids = new[] { $"{gid}-0", $"{gid}-1" };
        await cluster.External.MarkSucceededAsync(ids[0], "early", new ResultWriteOptions { GroupId = gid }, Ct);

        var saved = await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        Assert.Equal((2, 1, 1), (saved.Total, saved.Completed, saved.Waiting));

        await cluster.External.MarkSucceededAsync(ids[1], "late", new ResultWriteOptions { GroupId = gid }, Ct);
        Assert.Equal(["early", "late"], (await cluster.External.JoinAsync<string>(gid, TimeSpan.FromSeconds(10), cancellationToken: Ct)).Select(o => o.Value));
    }

    [Fact]
    public async Task A_child_retried_from_failure_to_success_moves_between_the_counts()
    {
        var gid = NewId();
        var id = $"{gid}-0";
        await cluster.External.SaveGroupAsync(gid, [id, $"{gid}-1"], cancellationToken: Ct);
        await cluster.External.MarkFailedAsync(id, new TimeoutException("first try"), new ResultWriteOptions { GroupId = gid }, Ct);
        Assert.Equal((1, 0, 1), Counts(await cluster.External.GetGroupAsync(gid, Ct)));

        await cluster.External.MarkSucceededAsync(id, 1, new ResultWriteOptions { GroupId = gid }, Ct);
        Assert.Equal((1, 1, 0), Counts(await cluster.External.GetGroupAsync(gid, Ct)));
    }

    private static (int, int, int) Counts(GroupStatus s) => (s.Completed, s.Succeeded, s.Failed);

    [Fact]
    public async Task A_join_that_runs_out_of_time_says_how_far_the_group_got()
    {
        var gid = NewId();
        await cluster.External.SaveGroupAsync(gid, [$"{gid}-0", $"{gid}-1"], cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync($"{gid}-0", 1, new ResultWriteOptions { GroupId = gid }, Ct);

        var ex = await Assert.ThrowsAsync<ResultTimeoutException>(() => cluster.External.JoinAsync<int>(gid, TimeSpan.FromMilliseconds(500), cancellationToken: Ct));
        Assert.Contains("1 of 2 done", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_or_forgotten_group_says_so()
    {
        Assert.False((await cluster.External.GetGroupAsync(NewId(), Ct)).Exists);
        await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.External.JoinAsync<int>(NewId(), TimeSpan.FromSeconds(2), cancellationToken: Ct));

        var gid = NewId();
        await cluster.External.SaveGroupAsync(gid, [$"{gid}-0"], cancellationToken: Ct);
        Assert.True(await cluster.External.ForgetGroupAsync(gid, Ct));
        Assert.False((await cluster.External.GetGroupAsync(gid, Ct)).Exists);
    }

    [Fact]
    public async Task A_group_with_a_child_listed_twice_is_refused()
    {
        var gid = NewId();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.SaveGroupAsync(gid, ["x", "y", "x"], cancellationToken: Ct));
        Assert.Contains("'x' twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_group_is_restored_from_the_store_after_its_grain_is_gone()
    {
        var gid = NewId();
        var ids = Enumerable.Range(0, 5).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        for (var i = 0; i < 3; i++)
        {
            await cluster.External.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct);
        }

        await cluster.Cluster.DeactivateAsync(cluster.Grains.GetGrain<IGroupResultGrain>(gid));

        var restored = await cluster.OnSilo(1).GetGroupAsync(gid, Ct);
        Assert.Equal((5, 3), (restored.Total, restored.Completed));
        for (var i = 3; i < 5; i++)
        {
            await cluster.External.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct);
        }

        Assert.Equal(Enumerable.Range(0, 5), (await cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(10), cancellationToken: Ct)).Select(o => o.Value));
    }
}
