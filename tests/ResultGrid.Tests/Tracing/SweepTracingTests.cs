using ResultGrid.Client;
using A = ResultGrid.ResultGridActivity;

namespace ResultGrid.Tests;

/// <summary>The sweep's span on a backend that sweeps (SQLite): its deleted and batch counts are the report's.</summary>
[Trait("Backend", "sqlite")]
public sealed class SweepTracingTests(SqliteCluster cluster) : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SpanRecorder _spans = new();

    [Fact]
    public async Task A_sweep_span_counts_what_it_deleted()
    {
        var id = TaskIds.NewId();
        await cluster.External.MarkSucceededAsync(id, 7, new ResultWriteOptions { Expires = TimeSpan.FromMilliseconds(200) }, Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(600), Ct);

        using var root = SpanRecorder.StartRoot("sweep-sqlite");
        var report = await cluster.External.SweepExpiredAsync(Ct);
        Assert.True(report.Swept);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));

        var sweep = await _spans.WaitForSpan(root.TraceId, A.Sweep);
        Assert.Equal("swept", SpanRecorder.Tag(sweep, A.OutcomeTag));
        Assert.Equal(report.Backend, SpanRecorder.Tag(sweep, A.BackendTag));
        Assert.Equal(report.Deleted, (long)sweep.GetTagItem(A.DeletedTag)!);
        Assert.Equal(report.Batches, (int)sweep.GetTagItem(A.BatchesTag)!);
        Assert.Contains(_spans.Spans(root.TraceId), s => s.OperationName == A.Store && SpanRecorder.Tag(s, A.OperationTag) == "sweep" && s.ParentSpanId == sweep.SpanId);
    }

    public void Dispose() => _spans.Dispose();
}
