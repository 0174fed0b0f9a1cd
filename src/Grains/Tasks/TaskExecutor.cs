using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Grains.Tasks;

/// <summary>
/// Runs task handlers off the grain scheduler (user code may block) and writes their results
/// through the result grains, with the same SDK writer any worker uses.
/// </summary>
internal sealed partial class TaskExecutor : IDisposable
{
    private readonly IResultWriter _writer;
    private readonly ResultSerializer _serializer;
    private readonly ResultGridOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskExecutor> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    public TaskExecutor(IResultWriter writer, ResultSerializer serializer, IOptions<ResultGridOptions> options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<TaskExecutor> logger)
    {
        _writer = writer;
        _serializer = serializer;
        _options = options.Value;
        _time = time;
        _logger = logger;
        lifetime.ApplicationStopping.Register(_stopping.Cancel);
    }

    public SubmitReceipt Accept(TaskDefinition task, TaskSubmission submission)
    {
        var ignore = task.Options.IgnoreResult ?? _options.IgnoreResult;
        var storeErrors = task.Options.StoreErrorsEvenIfIgnored ?? _options.StoreErrorsEvenIfIgnored;
        _ = Task.Run(() => RunAsync(task, submission, ignore, storeErrors));
        return new SubmitReceipt { TaskId = submission.TaskId, ResultIgnored = ignore, StoresErrors = !ignore || storeErrors };
    }

    private async Task RunAsync(TaskDefinition task, TaskSubmission submission, bool ignore, bool storeErrors)
    {
        var write = new ResultWriteOptions
        {
            Name = task.Name,
            Args = submission.Args,
            Worker = _worker,
            Queue = submission.Queue,
            GroupId = submission.GroupId,
            ParentId = submission.ParentId,
            Expires = submission.Expires ?? task.Options.Expires,
            Serializer = task.Options.Serializer,
            Compression = task.Options.Compression,
        };
        var id = submission.TaskId;
        var ct = _stopping.Token;
        try
        {
            if (!ignore && (task.Options.TrackStarted ?? _options.TrackStarted))
            {
                await _writer.MarkStartedAsync(id, write, ct);
            }

            // Only the handler is retried. Writing its result is a separate step: a backend that
            // is down must not re-run a handler that may not be idempotent, nor be stored as the
            // task's failure.
            object? value = null;
            var retries = 0;
            while (true)
            {
                var context = new TaskContext(id, task.Name, retries, _writer, ct);
                try
                {
                    value = await task.InvokeAsync(_serializer, context, submission.Args);
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    if (retries < task.Options.MaxRetries && (task.Options.RetryOn?.Invoke(ex) ?? true))
                    {
                        retries++;
                        LogRetry(_logger, ex, task.Name, id, retries, task.Options.MaxRetries);
                        if (!ignore)
                        {
                            await _writer.MarkRetryAsync(id, ex, retries, write, ct);
                        }

                        await Task.Delay(RetryDelay(task.Options, retries), _time, ct);
                        continue;
                    }

                    LogFailed(_logger, ex, task.Name, id);
                    if (!ignore || storeErrors)
                    {
                        await _writer.MarkFailedAsync(id, ex, write with { Retries = retries }, ct);
                    }

                    return;
                }
            }

            if (!ignore)
            {
                try
                {
                    await _writer.MarkSucceededAsync(id, value, write with { Retries = retries }, ct);
                }
                catch (Exception ex) when (ex is ResultTooLargeException or ArgumentException or NotSupportedException or System.Text.Json.JsonException)
                {
                    // The value itself was refused (too large, not encodable): that is the task's
                    // failure, stored as such, as Celery stores an EncodeError. A backend outage is
                    // not caught here: it is logged below and nothing is claimed as stored.
                    LogFailed(_logger, ex, task.Name, id);
                    await _writer.MarkFailedAsync(id, ex, write with { Retries = retries }, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            LogAbandoned(_logger, task.Name, id);
        }
        catch (Exception ex)
        {
            // The result could not be written (the backend is down): nothing was acknowledged,
            // and the log is the only place left to say so.
            LogWriteFailed(_logger, ex, task.Name, id);
        }
    }

    /// <summary>Exponential backoff: RetryDelay, then doubled for each retry, never above RetryMaxDelay.</summary>
    internal static TimeSpan RetryDelay(TaskOptions options, int retry)
    {
        var doublings = Math.Min(retry - 1, 40);
        var delay = options.RetryDelay.TotalMilliseconds * Math.Pow(2, doublings);
        return TimeSpan.FromMilliseconds(Math.Min(delay, options.RetryMaxDelay.TotalMilliseconds));
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    [LoggerMessage(20, LogLevel.Information, "Task {TaskName} {TaskId} failed and will be retried ({Retry} of {MaxRetries})")]
    private static partial void LogRetry(ILogger logger, Exception exception, string taskName, string taskId, int retry, int maxRetries);

    [LoggerMessage(21, LogLevel.Warning, "Task {TaskName} {TaskId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string taskName, string taskId);

    [LoggerMessage(22, LogLevel.Warning, "Task {TaskName} {TaskId} was stopped by the silo shutting down; its result was not stored")]
    private static partial void LogAbandoned(ILogger logger, string taskName, string taskId);

    [LoggerMessage(23, LogLevel.Error, "Task {TaskName} {TaskId} ran but its result could not be stored")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string taskName, string taskId);
}
