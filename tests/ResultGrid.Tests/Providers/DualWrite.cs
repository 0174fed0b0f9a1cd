using ResultGrid.Storage;

namespace ResultGrid.Tests;

// Dual-write (ResultGrid:SecondaryBackend) — the shared suites, run on a cluster whose every silo
// writes to Redis (primary) and SQLite (secondary): DualWriteCluster. The suites themselves are in
// Conformance/; what only dual-write does is in Providers/DualWrite*Tests.cs and
// Process/DualWriteLiveMigrationTests.cs. The transfer suite does not apply: migrate copies
// between the two backends themselves, and a dual-write store offers no IResultTransfer.

/// <summary>A dual-write store over a real pair, Redis primary and SQLite secondary, runs the whole store contract.</summary>
[Trait("Backend", "dualwrite")]
public sealed class DualWriteStoreConformanceTests(DualWriteCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);

    [Fact]
    public void The_store_is_a_dual_write_store_over_redis_and_sqlite()
    {
        var dual = Assert.IsType<DualWriteResultStore>(Store);
        Assert.Equal(("redis", "sqlite"), (dual.Primary.Backend, dual.Secondary.Backend));
        Assert.Equal("redis", Store.Backend);
    }
}

[Trait("Backend", "dualwrite")]
public sealed class DualWriteGroupConformanceTests(DualWriteCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "dualwrite")]
public sealed class DualWriteChordConformanceTests(DualWriteCluster cluster) : ChordConformanceTests(cluster);
