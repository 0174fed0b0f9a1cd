using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>Every store call of the grains: timed, counted, and logged when it fails.</summary>
internal static partial class StoreCall
{
    /// <summary>The task id of a call about no one task (a sweep): logged as is, not tagged.</summary>
    public const string AllTasks = "*";

    public static async Task<T> Run<T>(IResultStore store, ResultGridMetrics metrics, ILogger logger, string operation, string taskId, Func<ValueTask<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Store, ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag(ResultGridActivity.OperationTag, operation).SetTag(ResultGridActivity.BackendTag, store.Backend);
            if (taskId != AllTasks)
            {
                activity.SetTag(ResultGridActivity.TaskIdTag, taskId);
            }
        }

        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not ArgumentException)
        {
            metrics.StoreError(store.Backend, operation);
            LogStoreFailed(logger, ex, operation, taskId, store.Backend);
            ResultGridActivity.Failed(activity, ex);
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
