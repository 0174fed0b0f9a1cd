namespace ResultGrid.Tests;

/// <summary>
/// rpc://, with ignore-result on globally so the runner tests can see the global switch, and
/// extended results off so the tests can see them dropped.
/// </summary>
public sealed class RpcCluster() : ResultCluster("rpc://?partitions=8", o =>
{
    o.IgnoreResult = true;
    o.ExtendedResults = false;
});
