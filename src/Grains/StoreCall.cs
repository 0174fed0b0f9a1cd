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
            Failed(store, metrics, logger, operation, taskId, ex);
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
        finally
        {
            metrics.StoreDuration(store.Backend, operation, started);
        }
    }

    /// <summary>
    /// Many writes in one store call (<see cref="IResultStore.WriteManyAsync"/>), timed as one
    /// call ("write_many"): one answer per write, each failed write counted and logged as a single
    /// write's failure is. A call that throws as a whole answers every write with its error.
    /// Untraced: traced writes go one by one, each in its own span.
    /// </summary>
    public static async Task<StoreWriteAnswer[]> RunMany(IResultStore store, ResultGridMetrics metrics, ILogger logger, IReadOnlyList<TaskResult> results)
    {
        const string operation = "write_many";
        var started = Stopwatch.GetTimestamp();
        StoreWriteAnswer[] answers;
        try
        {
            answers = await store.WriteManyAsync(results);
            if (answers.Length != results.Count)
            {
                throw new InvalidOperationException($"The {store.Backend} store answered {answers.Length} of {results.Count} writes; none of them is acknowledged.");
            }
        }
        catch (Exception ex)
        {
            answers = new StoreWriteAnswer[results.Count];
            Array.Fill(answers, new StoreWriteAnswer(ex));
        }
        finally
        {
            metrics.StoreDuration(store.Backend, operation, started);
        }

        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i].Error is { } error and not ArgumentException)
            {
                Failed(store, metrics, logger, operation, results[i].TaskId, error);
            }
        }

        return answers;
    }

    private static void Failed(IResultStore store, ResultGridMetrics metrics, ILogger logger, string operation, string taskId, Exception ex)
    {
        metrics.StoreError(store.Backend, operation);
        LogStoreFailed(logger, ex, operation, taskId, store.Backend);
    }

    [LoggerMessage(11, LogLevel.Warning, "Task {TaskId}: store {Operation} on backend {Backend} failed; nothing was acknowledged")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string operation, string taskId, string backend);
}
