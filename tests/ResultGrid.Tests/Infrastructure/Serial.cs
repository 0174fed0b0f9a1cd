namespace ResultGrid.Tests;

/// <summary>A collection that runs alone, for counts the rest of the suite would disturb (activations, store calls, metrics).</summary>
[CollectionDefinition(nameof(Serial), DisableParallelization = true)]
public sealed class Serial;
