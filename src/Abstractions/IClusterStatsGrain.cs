using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>
/// One silo's counters since it started, as its own meter counted them. Cumulative, so the
/// rates are the difference of two reports over their interval, whichever report is lost.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.SiloCounters")]
public sealed record SiloCounters
{
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public required string Backend { get; init; }
    [Id(2)] public required DateTimeOffset At { get; init; }
    [Id(3)] public long Writes { get; init; }
    [Id(4)] public long Reads { get; init; }
    [Id(5)] public long Waits { get; init; }
    [Id(6)] public long StoreCalls { get; init; }
    [Id(7)] public double StoreMilliseconds { get; init; }
    [Id(8)] public long ActiveWaiters { get; init; }
    [Id(9)] public long StoreErrors { get; init; }

    /// <summary>Results stored by this silo since it started, by state (custom states as "custom").</summary>
    [Id(10)] public Dictionary<string, long> StoredByState { get; init; } = [];
}

/// <summary>One silo's rates over its last report interval.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.SiloRates")]
public sealed record SiloRates
{
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public required DateTimeOffset At { get; init; }
    [Id(2)] public double WritesPerSecond { get; init; }
    [Id(3)] public double ReadsPerSecond { get; init; }
    [Id(4)] public double WaitsPerSecond { get; init; }

    /// <summary>Mean store call latency over the interval; null when no call was made.</summary>
    [Id(5)] public double? StoreLatencyMs { get; init; }
    [Id(6)] public long ActiveWaiters { get; init; }
    [Id(7)] public required SiloCounters Counters { get; init; }
}

/// <summary>
/// The cluster's live counters: every silo reports its own every few seconds, and readers (the
/// HTTP API's stats, the dashboard) ask this one grain rather than every silo.
/// </summary>
[Alias("ResultGrid.IClusterStatsGrain")]
public interface IClusterStatsGrain : IGrainWithIntegerKey
{
    /// <summary>Called by each silo's reporter. Not for applications.</summary>
    [Alias("Report"), OneWay]
    Task ReportAsync(SiloCounters counters);

    /// <summary>Each live silo's latest rates (silos silent for three intervals are left out).</summary>
    [AlwaysInterleave, Alias("Rates")]
    Task<SiloRates[]> GetRatesAsync();
}
