namespace ResultGrid.Tests;

// The state-history contract (Conformance/HistoryConformanceTests.cs) on every backend.

[Trait("Backend", "memory")]
public sealed class MemoryHistoryConformanceTests(MemoryCluster cluster) : HistoryConformanceTests(cluster);

[Trait("Backend", "rpc")]
public sealed class RpcHistoryConformanceTests(RpcCluster cluster) : HistoryConformanceTests(cluster);

[Trait("Backend", "redis")]
public sealed class RedisHistoryConformanceTests(RedisCluster cluster) : HistoryConformanceTests(cluster);

[Trait("Backend", "sqlite")]
public sealed class SqliteHistoryConformanceTests(SqliteCluster cluster) : HistoryConformanceTests(cluster);

[Trait("Backend", "postgresql")]
public sealed class PostgresHistoryConformanceTests(PostgresCluster cluster) : HistoryConformanceTests(cluster);

[Trait("Backend", "mariadb")]
public sealed class MariaDbHistoryConformanceTests(MariaDbCluster cluster) : HistoryConformanceTests(cluster);
