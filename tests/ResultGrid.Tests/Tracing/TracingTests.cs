using System.Diagnostics;
using ResultGrid.Client;
using A = ResultGrid.ResultGridActivity;

namespace ResultGrid.Tests;

/// <summary>
/// ResultGrid's spans on a two-silo memory:// cluster, seen by a real listener: an SDK call's
/// span is the ancestor (through Orleans' propagated grain calls) of the silo's write, store call,
/// notification and the wake of the parked waiter, all in one trace.
/// </summary>
[Trait("Backend", "memory")]
public sealed class TracingTests(MemoryCluster cluster) : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SpanRecorder _spans = new();

    [Fact]
    public async Task A_write_and_a_parked_wait_are_one_trace_from_the_client_span_to_the_woken_waiter()
    {
        var id = TaskIds.NewId();
        using var root = SpanRecorder.StartRoot("write-and-wait");
        var trace = root.TraceId;

        var wait = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await _spans.WaitForEvent(trace, A.Wait, "parked");
        Assert.Equal(WriteOutcome.Stored, await cluster.External.MarkSucceededAsync(id, 42, cancellationToken: Ct));
        Assert.Equal(42, (await wait).Value);

        var clientWrite = await _spans.WaitForSpan(trace, A.ClientWrite);
        Assert.Equal(ActivityKind.Client, clientWrite.Kind);
        Assert.Equal(root.SpanId, clientWrite.ParentSpanId);
        Assert.Equal(id, SpanRecorder.Tag(clientWrite, A.TaskIdTag));
        Assert.Equal(TaskStates.Success, SpanRecorder.Tag(clientWrite, A.StateTag));
        Assert.Equal("stored", SpanRecorder.Tag(clientWrite, A.OutcomeTag));

        // The silo's write: below the client's span, through Orleans' grain-call spans.
        var write = await _spans.WaitForSpan(trace, A.Write, s => SpanRecorder.Tag(s, A.TaskIdTag) == id);
        Assert.True(_spans.Descends(write, clientWrite), "the silo's write span is not below the client's");
        Assert.Contains(_spans.Spans(trace), s => s.Source.Name.StartsWith("Microsoft.Orleans.", StringComparison.Ordinal) && _spans.Descends(write, s));
        Assert.Equal("memory", SpanRecorder.Tag(write, A.BackendTag));
        Assert.Equal(TaskStates.Success, SpanRecorder.Tag(write, A.StateTag));
        Assert.Equal("stored", SpanRecorder.Tag(write, A.OutcomeTag));

        var store = await _spans.WaitForSpan(trace, A.Store, s => SpanRecorder.Tag(s, A.OperationTag) == "write" && SpanRecorder.Tag(s, A.TaskIdTag) == id);
        Assert.Equal(write.SpanId, store.ParentSpanId);
        Assert.Equal("memory", SpanRecorder.Tag(store, A.BackendTag));

        var notify = await _spans.WaitForSpan(trace, A.Notify, s => SpanRecorder.Tag(s, A.TaskIdTag) == id && SpanRecorder.Tag(s, A.DeliveryTag) == "wake");
        Assert.True(_spans.Descends(notify, write), "the notification is not below the write");
        Assert.Equal("delivered", SpanRecorder.Tag(notify, A.OutcomeTag));

        // The woken waiter, in the writer's trace.
        var wake = await _spans.WaitForSpan(trace, A.Wake, s => SpanRecorder.Tag(s, A.TaskIdTag) == id);
        Assert.True(_spans.Descends(wake, notify), "the wake is not below the notification");
        Assert.Equal("1", SpanRecorder.Tag(wake, A.WaitersTag));

        // The wait: below the client's wait span, parked then woken.
        var clientWait = await _spans.WaitForSpan(trace, A.ClientWait, s => SpanRecorder.Tag(s, A.TaskIdTag) == id);
        Assert.Equal(ActivityKind.Client, clientWait.Kind);
        Assert.Equal(root.SpanId, clientWait.ParentSpanId);
        Assert.Equal("ready", SpanRecorder.Tag(clientWait, A.OutcomeTag));
        Assert.Equal(TaskStates.Success, SpanRecorder.Tag(clientWait, A.StateTag));
        var parked = await _spans.WaitForSpan(trace, A.Wait, s => SpanRecorder.Tag(s, A.OutcomeTag) == "woken");
        Assert.True(_spans.Descends(parked, clientWait), "the grain's wait is not below the client's wait");
        Assert.True(parked.GetTagItem(A.WokenTag) is true, "the woken wait is not tagged woken");
        Assert.Equal(TaskStates.Success, SpanRecorder.Tag(parked, A.StateTag));
        Assert.Equal(["parked", "woken"], parked.Events.Select(e => e.Name).ToArray());
    }

    [Fact]
    public async Task A_wait_that_times_out_says_so_and_was_not_woken()
    {
        var id = TaskIds.NewId();
        using var root = SpanRecorder.StartRoot("timeout");
        var info = await cluster.External.WaitUntilReadyAsync(id, TimeSpan.FromMilliseconds(300), Ct);
        Assert.Equal(TaskStates.Pending, info.State);

        var clientWait = await _spans.WaitForSpan(root.TraceId, A.ClientWait);
        Assert.Equal("timedOut", SpanRecorder.Tag(clientWait, A.OutcomeTag));
        var wait = await _spans.WaitForSpan(root.TraceId, A.Wait, s => SpanRecorder.HasEvent(s, "parked"));
        Assert.True(wait.GetTagItem(A.WokenTag) is false, "a timed-out wait is tagged woken");
        Assert.Equal("timedOut", SpanRecorder.Tag(wait, A.OutcomeTag));
        Assert.Contains(wait.Events, e => e.Name == "timed out");
        Assert.Equal(TaskStates.Pending, SpanRecorder.Tag(wait, A.StateTag));
    }

    [Fact]
    public async Task A_second_write_over_a_stored_success_is_tagged_keptSuccess()
    {
        var id = TaskIds.NewId();
        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        using var root = SpanRecorder.StartRoot("kept");
        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.External.MarkFailedAsync(id, new InvalidOperationException("late"), cancellationToken: Ct));

        var clientWrite = await _spans.WaitForSpan(root.TraceId, A.ClientWrite);
        Assert.Equal("keptSuccess", SpanRecorder.Tag(clientWrite, A.OutcomeTag));
        Assert.Equal(TaskStates.Failure, SpanRecorder.Tag(clientWrite, A.StateTag));
        var write = await _spans.WaitForSpan(root.TraceId, A.Write);
        Assert.Equal("keptSuccess", SpanRecorder.Tag(write, A.OutcomeTag));
    }

    [Fact]
    public async Task A_group_join_and_its_chord_trigger_are_spans_of_the_trace_that_completed_them()
    {
        var gid = $"trace-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 3).Select(i => $"{gid}-{i}").ToArray();
        var bodyId = await cluster.External.SaveChordAsync(gid, ids, "test.concat", cancellationToken: Ct);

        using var root = SpanRecorder.StartRoot("join-and-chord");
        var trace = root.TraceId;
        var join = cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await _spans.WaitForEvent(trace, A.GroupJoin, "parked");
        for (var i = 0; i < ids.Length; i++)
        {
            await cluster.External.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct);
        }

        var joined = (await join).Select(o => o.Value).ToArray();
        Assert.Equal([0, 1, 2], joined);
        Assert.Equal("0,1,2", (await cluster.External.WaitAsync<string>(bodyId, TimeSpan.FromSeconds(30), cancellationToken: Ct)).Value);

        var clientJoin = await _spans.WaitForSpan(trace, A.ClientJoin);
        Assert.Equal(ActivityKind.Client, clientJoin.Kind);
        Assert.Equal(gid, SpanRecorder.Tag(clientJoin, A.GroupIdTag));
        Assert.Equal("3", SpanRecorder.Tag(clientJoin, A.TotalTag));
        Assert.Equal("3", SpanRecorder.Tag(clientJoin, A.CompletedTag));
        var groupJoin = await _spans.WaitForSpan(trace, A.GroupJoin, s => s.GetTagItem(A.WokenTag) is true);
        Assert.True(_spans.Descends(groupJoin, clientJoin), "the group's join is not below the client's");
        Assert.Equal(gid, SpanRecorder.Tag(groupJoin, A.GroupIdTag));
        Assert.Contains(groupJoin.Events, e => e.Name == "woken");

        // The last child's write told the group, which claimed the trigger and started the body.
        var trigger = await _spans.WaitForSpan(trace, A.ChordTrigger);
        Assert.Equal(gid, SpanRecorder.Tag(trigger, A.GroupIdTag));
        Assert.Equal(bodyId, SpanRecorder.Tag(trigger, A.TaskIdTag));
        Assert.Equal("won", SpanRecorder.Tag(trigger, A.ClaimTag));
        Assert.Equal("started", SpanRecorder.Tag(trigger, A.OutcomeTag));
        Assert.Contains(_spans.Spans(trace), w => w.OperationName == A.Write && ids.Contains(SpanRecorder.Tag(w, A.TaskIdTag)) && _spans.Descends(trigger, w));
        Assert.Contains(_spans.Spans(trace), s => s.OperationName == A.Store && SpanRecorder.Tag(s, A.OperationTag) == "claim" && s.ParentSpanId == trigger.SpanId);
    }

    [Fact]
    public async Task A_backend_with_native_expiry_sweeps_nothing_and_the_span_says_so()
    {
        using var root = SpanRecorder.StartRoot("sweep-memory");
        Assert.False((await cluster.External.SweepExpiredAsync(Ct)).Swept);
        var sweep = await _spans.WaitForSpan(root.TraceId, A.Sweep);
        Assert.Equal("unsupported", SpanRecorder.Tag(sweep, A.OutcomeTag));
        Assert.Equal("memory", SpanRecorder.Tag(sweep, A.BackendTag));
    }

    public void Dispose() => _spans.Dispose();
}
