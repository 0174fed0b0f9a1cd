using ResultGrid.Storage;

namespace ResultGrid.Tests;

// memory:// — every shared suite, run on the memory backend. The suites themselves are in
// Conformance/, Corpus/ and Faults/; what only memory:// has is in the other Providers/ files.

/// <summary>memory:// runs the whole store contract.</summary>
[Trait("Backend", "memory")]
public sealed class MemoryStoreConformanceTests(MemoryCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);

    // Expired until the partition's timer removes the entry, which may come first.
    protected override ResultExistence[] AfterExpiry => [ResultExistence.Expired, ResultExistence.Pending];
}

[Trait("Backend", "memory")]
public sealed class MemoryGroupConformanceTests(MemoryCluster cluster) : GroupConformanceTests(cluster)
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

[Trait("Backend", "memory")]
public sealed class MemoryChordConformanceTests(MemoryCluster cluster) : ChordConformanceTests(cluster);

[Trait("Backend", "memory")]
public sealed class MemoryCodecMatrixTests(MemoryCluster cluster) : CodecMatrixTests(cluster);

[Trait("Backend", "memory")]
public sealed class MemoryWriteTruthTests(MemoryCluster cluster) : WriteTruthTests(cluster);
