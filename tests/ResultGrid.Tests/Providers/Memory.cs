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
public sealed class MemoryGroupConformanceTests(MemoryCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "memory")]
public sealed class MemoryChordConformanceTests(MemoryCluster cluster) : ChordConformanceTests(cluster);

[Trait("Backend", "memory")]
public sealed class MemoryCodecMatrixTests(MemoryCluster cluster) : CodecMatrixTests(cluster);

[Trait("Backend", "memory")]
public sealed class MemoryWriteTruthTests(MemoryCluster cluster) : WriteTruthTests(cluster);

/// <summary>Reads without a result grain activation (the silo's reader), counted process-wide, so in the serial collection.</summary>
[Trait("Backend", "memory")]
[Collection(nameof(Serial))]
public sealed class MemoryReadWithoutActivationTests(MemoryCluster cluster) : ReadWithoutActivationTests(cluster);
