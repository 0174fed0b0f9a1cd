namespace ResultGrid.Tests;

/// <summary>A wait: when it was issued and answered, and the value or the exception's description.</summary>
internal sealed record WaitRecord(string Id, double Start, double End, string? Value, string? Error);
