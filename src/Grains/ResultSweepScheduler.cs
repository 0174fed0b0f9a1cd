using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>Schedules the sweep once the silo is up; every silo asks, the reminder is one.</summary>
internal sealed partial class ResultSweepScheduler(IGrainFactory grains, ResultStores stores, ILogger<ResultSweepScheduler> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ResultSweepScheduler), ServiceLifecycleStage.Active, async _ =>
        {
            if (!stores.Default.Has<IExpiredResultSweep>())
            {
                return;
            }

            try
            {
                await grains.GetGrain<IResultSweeperGrain>("default").EnsureScheduledAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Most often no reminder service is configured. Reads still hide expired rows.
                LogNotScheduled(logger, ex, stores.RedactedUrl);
            }
        });

    [LoggerMessage(1, LogLevel.Warning, "Expired results of {Backend} are not swept on a schedule: the sweep's reminder could not be registered (configure an Orleans reminder service). Reads still never return them, and a sweep can be run on demand.")]
    private static partial void LogNotScheduled(ILogger logger, Exception exception, string backend);
}
