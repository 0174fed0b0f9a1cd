using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// The chord contract, on a two-silo cluster: a body run once, with its header's results in
/// order, or failed naming the child. Every backend's subclass is in its Providers/&lt;Backend&gt;.cs.
/// </summary>
public abstract class ChordConformanceTests(ResultCluster cluster)
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
