using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>Every store call of the grains: timed, counted, and logged when it fails.</summary>
internal static partial class StoreCall
{
    public static async Task<T> Run<T>(IResultStore store, ResultGridMetrics metrics, ILogger logger, string operation, string taskId, Func<ValueTask<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not ArgumentException)
        {
            metrics.StoreError(store.Backend, operation);
            LogStoreFailed(logger, ex, operation, taskId, store.Backend);
            throw;
        }
        finally
        {
            metrics.StoreDuration(store.Backend, operation, started);
        }
    }

    [LoggerMessage(11, LogLevel.Warning, "Task {TaskId}: store {Operation} on backend {Backend} failed; nothing was acknowledged")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string operation, string taskId, string backend);
}
