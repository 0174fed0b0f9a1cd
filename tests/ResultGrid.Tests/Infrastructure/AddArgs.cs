namespace ResultGrid.Tests;

public sealed record AddArgs(int A, int B);
