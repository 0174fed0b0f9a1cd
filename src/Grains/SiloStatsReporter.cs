using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace ResultGrid.Grains;

/// <summary>
/// Sends this silo's counters to the cluster's <see cref="IClusterStatsGrain"/> every
/// <see cref="Interval"/> while the silo is active: one one-way message per silo per interval,
/// so the stats cost nothing on the result paths.
/// </summary>
internal sealed partial class SiloStatsReporter(IGrainFactory grains, ResultGridMetrics metrics, ResultStores stores, ILocalSiloDetails silo, TimeProvider time, ILogger<SiloStatsReporter> logger)
    : SiloBackgroundLoop(nameof(SiloStatsReporter))
{
    /// <summary>How often each silo reports: short enough for a live chart, long enough to cost nothing.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task RunAsync(CancellationToken stopping)
    {
        var target = grains.GetGrain<IClusterStatsGrain>(0);
        var name = silo.SiloAddress.ToParsableString();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                try
                {
                    await target.ReportAsync(metrics.Snapshot(name, stores.Default.Backend, time.GetUtcNow())).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The stats grain's silo is gone for a moment; the next report goes to its new activation.
                    LogReportFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(40, LogLevel.Debug, "The silo's stats report did not reach the cluster's stats grain; the next one is sent at the next interval")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
