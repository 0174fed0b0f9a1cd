namespace ResultGrid.Tests;

/// <summary>A result as the store holds it: its state and its value (a JSON string's text, or the raw JSON).</summary>
internal sealed record StoredResult(string State, string? Value);
