using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains.Hosting;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>Groups on a two-silo cluster: pushed counts, ordered joins, streams.</summary>
public abstract class GroupTests(ResultCluster cluster)
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

/// <summary>Chords on a two-silo cluster: a body run once, with its header's results in order, or failed naming the child.</summary>
public abstract class ChordTests(ResultCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_chord_body_runs_once_with_the_header_results_in_submission_order()
    {
        var chord = await cluster.External.SubmitChordAsync("test.square", Enumerable.Range(1, 30).Select(i => (object?)i), "test.concat", cancellationToken: Ct);

        var body = await chord.WaitAsync<string>(TimeSpan.FromSeconds(30), cancellationToken: Ct);

        Assert.Equal(string.Join(',', Enumerable.Range(1, 30).Select(i => i * i)), body.Value);
        Assert.Equal(1, TestTasks.BodyRuns[chord.BodyTaskId]);
        Assert.True((await chord.Header.GetStatusAsync(Ct)).IsReady);
    }

    [Fact]
    public async Task A_failed_header_child_stores_the_body_as_a_failure_naming_that_child()
    {
        var gid = $"chord-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 5).Select(i => $"{gid}-{i}").ToArray();
        var bodyId = await cluster.External.SaveChordAsync(gid, ids, "test.concat", cancellationToken: Ct);
        var wait = cluster.External.WaitAsync<string>(bodyId, TimeSpan.FromSeconds(30), propagate: false, cancellationToken: Ct);

        for (var i = 0; i < ids.Length; i++)
        {
            var options = new ResultWriteOptions { GroupId = gid };
            await (i == 3
                ? cluster.OnSilo(1).MarkFailedAsync(ids[i], new InvalidOperationException("upstream gone"), options, Ct)
                : cluster.OnSilo(0).MarkSucceededAsync(ids[i], i, options, Ct));
        }

        var outcome = await wait;
        Assert.Equal(TaskStates.Failure, outcome.State);
        Assert.Equal("ChordError", outcome.Failure!.ExceptionType);
        Assert.Contains($"Dependency {ids[3]} raised", outcome.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("upstream gone", outcome.Failure.Message, StringComparison.Ordinal);
        Assert.False(TestTasks.BodyRuns.ContainsKey(bodyId));
    }

    [Fact]
    public async Task A_chord_whose_group_is_restored_after_completion_does_not_run_its_body_again()
    {
        var chord = await cluster.External.SubmitChordAsync("test.square", Enumerable.Range(1, 5).Select(i => (object?)i), "test.concat", cancellationToken: Ct);
        Assert.Equal("1,4,9,16,25", (await chord.WaitAsync<string>(TimeSpan.FromSeconds(30), cancellationToken: Ct)).Value);

        // A new activation restores the complete header from the store and tries the trigger
        // again: the claim in the store refuses it.
        await cluster.Cluster.DeactivateAsync(cluster.Grains.GetGrain<IGroupResultGrain>(chord.Header.GroupId));
        Assert.True((await cluster.External.GetGroupAsync(chord.Header.GroupId, Ct)).IsReady);
        await Task.Delay(300, Ct);

        Assert.Equal(1, TestTasks.BodyRuns[chord.BodyTaskId]);
    }

    [Fact]
    public async Task A_chord_with_an_unregistered_body_fails_it_with_the_name()
    {
        var chord = await cluster.External.SubmitChordAsync("test.square", [1, 2], "no.such.body", cancellationToken: Ct);

        var outcome = await chord.WaitAsync<string>(TimeSpan.FromSeconds(30), propagate: false, cancellationToken: Ct);

        Assert.Equal("ChordError", outcome.Failure!.ExceptionType);
        Assert.Contains("no.such.body", outcome.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_id_inside_its_own_header_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.SaveChordAsync("chord-self", ["a", "b"], "test.concat", bodyTaskId: "b", cancellationToken: Ct));
        Assert.Contains("must be its own", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class MemoryChordTests(MemoryCluster cluster) : ChordTests(cluster);

public sealed class RedisChordTests(RedisCluster cluster) : ChordTests(cluster);

public sealed class PostgresChordTests(PostgresCluster cluster) : ChordTests(cluster);

public sealed class SqliteChordTests(SqliteCluster cluster) : ChordTests(cluster);

public sealed class MariaDbChordTests(MariaDbCluster cluster) : ChordTests(cluster);

public sealed class MemoryGroupTests(MemoryCluster cluster) : GroupTests(cluster)
{
    [Fact]
    public async Task A_submitted_group_runs_on_the_workers_and_joins()
    {
        var handle = await cluster.External.SubmitGroupAsync("test.add", Enumerable.Range(0, 50).Select(i => (object?)new AddArgs(i, i)), cancellationToken: Ct);
        Assert.Equal(50, handle.TaskIds.Count);
        var sums = await handle.JoinAsync<int>(TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 2), sums.Select(o => o.Value));
        Assert.True((await handle.GetStatusAsync(Ct)).IsReady);
    }
}

public sealed class RedisGroupTests(RedisCluster cluster) : GroupTests(cluster);

public sealed class PostgresGroupTests(PostgresCluster cluster) : GroupTests(cluster);

/// <summary>A silo killed while its group runs, on a durable backend.</summary>
public sealed class GroupSiloFailureTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_join_completes_and_the_chord_runs_once_when_the_silo_holding_the_group_dies_mid_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddRedisResultStore();
            silo.AddResultGrid(o => o.Backend = $"redis://127.0.0.1:{redis.Port}/0");
            TestTasks.Register(silo.Services);
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(ct);

        var gid = $"kill-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 200).Select(i => $"{gid}-{i}").ToArray();

        // The group is saved through the second silo's own SDK (the first silo is the cluster's
        // primary): groups activate where their first caller is, so its activation lives there.
        var victim = cluster.Silos[1];
        var onVictim = victim.ServiceProvider.GetRequiredService<IResultGridClient>();
        // A chord, too: its body must run once, after the group's grain has moved to the survivor.
        var bodyId = await onVictim.SaveChordAsync(gid, ids, "test.concat", cancellationToken: ct);
        for (var i = 0; i < 100; i++)
        {
            await onVictim.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, ct);
        }

        var group = cluster.Client.GetGrain<IGroupResultGrain>(gid);
        Assert.True(cluster.TryGetGrainContext(group.GetGrainId(), out var context));
        Assert.Equal(victim.SiloAddress, context!.Address.SiloAddress);
        await cluster.KillSiloAsync(victim, ct);

        // The surviving silo's own SDK carries on (the external client would first have to
        // notice its gateway is gone).
        var survivor = cluster.Silos[0].ServiceProvider.GetRequiredService<IResultGridClient>();
        var join = survivor.JoinAsync<int>(gid, TimeSpan.FromSeconds(90), cancellationToken: ct);
        for (var i = 100; i < 200; i++)
        {
            await survivor.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, ct);
        }

        Assert.Equal(Enumerable.Range(0, 200), (await join).Select(o => o.Value));
        var body = await survivor.WaitAsync<string>(bodyId, TimeSpan.FromSeconds(30), cancellationToken: ct);
        Assert.Equal(string.Join(',', Enumerable.Range(0, 200)), body.Value);
        Assert.Equal(1, TestTasks.BodyRuns[bodyId]);
        await cluster.StopAllSilosAsync(ct);
    }
}
