namespace ResultGrid.Tests;

/// <summary>A recovery probe: a wait on a fresh id, then the write that completes it.</summary>
internal sealed record ProbeRecord(double Start, WriteRecord Write, WaitRecord Wait)
{
    /// <summary>The wait answered with the probe's own value within <paramref name="latency"/> of the write's answer.</summary>
    public bool WokeWithin(double latency) =>
        Write.Acknowledged && Wait.Error is null && Wait.Value == Wait.Id && Wait.End - Write.End <= latency;
}
