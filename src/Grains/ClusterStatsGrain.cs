using Orleans.Concurrency;

namespace ResultGrid.Grains;

/// <summary>
/// The cluster's live counters, one grain: each silo's <see cref="SiloStatsReporter"/> sends its
/// cumulative counters every <see cref="SiloStatsReporter.Interval"/>, and the rates are the
/// difference between a silo's last two reports. Kept in memory only: a new activation knows
/// the rates again after two report intervals.
/// </summary>
[Reentrant]
internal sealed class ClusterStatsGrain(TimeProvider time) : Grain, IClusterStatsGrain
{
    private readonly Dictionary<string, (SiloCounters? Previous, SiloCounters Last)> _silos = new(StringComparer.Ordinal);

    public Task ReportAsync(SiloCounters counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        _silos[counters.Silo] = _silos.TryGetValue(counters.Silo, out var known) && known.Last.At < counters.At
            ? (known.Last, counters)
            : (known.Previous, counters);
        return Task.CompletedTask;
    }

    public Task<SiloRates[]> GetRatesAsync()
    {
        // A silo that stopped reporting (it died, or left) drops out after three intervals.
        var horizon = time.GetUtcNow() - (3 * SiloStatsReporter.Interval);
        foreach (var stale in _silos.Where(s => s.Value.Last.At < horizon).Select(s => s.Key).ToArray())
        {
            _silos.Remove(stale);
        }

        return Task.FromResult(_silos.Values.OrderBy(s => s.Last.Silo, StringComparer.Ordinal).Select(s => Rates(s.Previous, s.Last)).ToArray());
    }

    private static SiloRates Rates(SiloCounters? previous, SiloCounters last)
    {
        if (previous is null || last.At <= previous.At)
        {
            return new SiloRates { Silo = last.Silo, At = last.At, ActiveWaiters = last.ActiveWaiters, Counters = last };
        }

        var seconds = (last.At - previous.At).TotalSeconds;
        var calls = last.StoreCalls - previous.StoreCalls;
        return new SiloRates
        {
            Silo = last.Silo,
            At = last.At,
            WritesPerSecond = (last.Writes - previous.Writes) / seconds,
            ReadsPerSecond = (last.Reads - previous.Reads) / seconds,
            WaitsPerSecond = (last.Waits - previous.Waits) / seconds,
            StoreLatencyMs = calls > 0 ? (last.StoreMilliseconds - previous.StoreMilliseconds) / calls : null,
            ActiveWaiters = last.ActiveWaiters,
            Counters = last,
        };
    }
}
