namespace ResultGrid.Tests;

public sealed class MemoryCluster() : ResultCluster("memory://");
