// The backends' clusters: one of each for the whole test run, created before the first test and
// disposed after the last. A test class gets one by taking it as a constructor parameter.
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.MemoryCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.RpcCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.RedisCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.PostgresCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.MariaDbCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.SqliteCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.DualWriteCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.RpcDefaultsCluster))]
