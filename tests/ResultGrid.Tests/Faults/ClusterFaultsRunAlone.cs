namespace ResultGrid.Tests;

/// <summary>The fault suite runs alone: its timings must not be those of a machine busy with other tests.</summary>
[CollectionDefinition(ClusterFaultScenario.Collection, DisableParallelization = true)]
public sealed class ClusterFaultsRunAlone
{
}
