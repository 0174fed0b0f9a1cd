namespace ResultGrid.Tests;

public sealed record ProgressMeta(int Current, int Total);
