namespace ResultGrid.Tests;

/// <summary>A write: when it started and ended, and its outcome or the exception's description.</summary>
internal sealed record WriteRecord(string Id, string Kind, double Start, double End, WriteOutcome? Outcome, string? Error)
{
    public bool Acknowledged => Outcome is not null;

    public double Latency => End - Start;
}
