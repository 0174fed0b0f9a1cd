using ResultGrid.Storage;

namespace ResultGrid.Tests;

// rpc:// — the shared suites that apply to a backend that hands each result out once. The suites
// themselves are in Conformance/; what only rpc:// does is in Providers/RpcBackendTests.cs.
// The store contract applies whole, plus single retrieval. So do the group and chord suites: a
// group reads its children's results from the store to count and join them, it does not take
// them (they run on RpcDefaultsCluster: RpcCluster's global ignore-result would drop the results
// of the tasks they submit). The transfer suite does not apply: rpc:// results live in the
// cluster and are never copied (migrate refuses rpc://), so the store has no IResultTransfer.

/// <summary>rpc:// runs the whole store contract, plus single retrieval.</summary>
[Trait("Backend", "rpc")]
public sealed class RpcStoreConformanceTests(RpcCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(0);

    protected override ResultExistence[] AfterExpiry => [ResultExistence.Expired, ResultExistence.Pending];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Consume_hands_a_ready_result_out_exactly_once()
    {
        var id = NewId("rpc");
        await Store.WriteAsync(Record(id, TaskStates.Success, "42"), Ct);

        var takes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Store.ConsumeAsync(id, Ct).AsTask()));

        Assert.Single(takes, t => t is not null);
        Assert.Equal(TaskStates.Success, takes.Single(t => t is not null)!.State);
        Assert.Equal(TaskStates.Consumed, (await Store.ReadAsync(id, Ct))!.State);
        Assert.False(await Store.ExistsAsync(id, Ct));
        Assert.Equal(ResultExistence.Consumed, await Store.GetExistenceAsync(id, Ct));
    }

    [Fact]
    public async Task Consume_leaves_a_result_that_is_not_ready()
    {
        var id = NewId("rpc");
        await Store.WriteAsync(Record(id, "PROGRESS", "{}"), Ct);

        Assert.Null(await Store.ConsumeAsync(id, Ct));
        Assert.Equal("PROGRESS", (await Store.ReadAsync(id, Ct))!.State);
        Assert.Null(await Store.ConsumeAsync(NewId("rpc"), Ct));
    }

    [Fact]
    public void The_store_declares_single_retrieval()
    {
        Assert.True(Store.SingleRetrieval);
        Assert.Equal("rpc", Store.Backend);
    }
}

[Trait("Backend", "rpc")]
public sealed class RpcCodecMatrixTests(RpcCluster cluster) : CodecMatrixTests(cluster);

[Trait("Backend", "rpc")]
public sealed class RpcGroupConformanceTests(RpcDefaultsCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "rpc")]
public sealed class RpcChordConformanceTests(RpcDefaultsCluster cluster) : ChordConformanceTests(cluster);

/// <summary>rpc:// runs the single-retrieval suite too, its two stores on the cluster's two silos.</summary>
[Trait("Backend", "rpc")]
public sealed class RpcSingleRetrievalConformanceTests(RpcCluster cluster) : SingleRetrievalConformanceTests
{
    private int _opened;

    protected override bool OwnsStores => false;

    protected override ValueTask<IResultStore> OpenAsync() => ValueTask.FromResult(cluster.Store(_opened++ % 2));
}
