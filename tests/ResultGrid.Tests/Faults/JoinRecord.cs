namespace ResultGrid.Tests;

/// <summary>The join's answer: values returned, values in their child's place, or the error.</summary>
internal sealed record JoinRecord(double End, int Count, int InOrder, string? Error);
