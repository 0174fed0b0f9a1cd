using ResultGrid.Storage;

namespace ResultGrid.Tests;

// grainstorage:// — the shared suites on three Orleans grain storages: ADO.NET on PostgreSQL and
// on MariaDB (registered as the silo host does, tables created by the silos), and Orleans' Redis
// grain storage with its own defaults. Each backend's classes share one collection fixture, so
// its servers start only when its tests run. TransferConformanceTests on PostgreSQL only (the
// scan walks the expiry buckets, the same grains on every storage). Not here: single retrieval
// and history (not offered by this backend).

[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStoragePostgresStoreConformanceTests(GrainStoragePostgresCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStoragePostgresGroupConformanceTests(GrainStoragePostgresCluster cluster) : GroupConformanceTests(cluster);

[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStoragePostgresChordConformanceTests(GrainStoragePostgresCluster cluster) : ChordConformanceTests(cluster);

[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStoragePostgresTransferConformanceTests(GrainStoragePostgresCluster cluster) : TransferConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Collection(GrainStorageMariaDbCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "mariadb")]
public sealed class GrainStorageMariaDbStoreConformanceTests(GrainStorageMariaDbCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Collection(GrainStorageMariaDbCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "mariadb")]
public sealed class GrainStorageMariaDbGroupConformanceTests(GrainStorageMariaDbCluster cluster) : GroupConformanceTests(cluster);

[Collection(GrainStorageMariaDbCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "mariadb")]
public sealed class GrainStorageMariaDbChordConformanceTests(GrainStorageMariaDbCluster cluster) : ChordConformanceTests(cluster);

[Collection(GrainStorageRedisCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "redis")]
public sealed class GrainStorageRedisStoreConformanceTests(GrainStorageRedisCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Collection(GrainStorageRedisCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "redis")]
public sealed class GrainStorageRedisGroupConformanceTests(GrainStorageRedisCluster cluster) : GroupConformanceTests(cluster);

[Collection(GrainStorageRedisCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "redis")]
public sealed class GrainStorageRedisChordConformanceTests(GrainStorageRedisCluster cluster) : ChordConformanceTests(cluster);
