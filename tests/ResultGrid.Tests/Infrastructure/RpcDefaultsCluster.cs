namespace ResultGrid.Tests;

/// <summary>
/// rpc:// with the silo's defaults (ignore-result off, extended results on), for the group and
/// chord suites: their headers run on the workers, whose results <see cref="RpcCluster"/>'s global
/// ignore-result would drop.
/// </summary>
public sealed class RpcDefaultsCluster() : ResultCluster("rpc://?partitions=8");
