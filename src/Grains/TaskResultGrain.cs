using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// One task's result. Writes go straight to the store in one conditional write (no read
/// first, no IPersistentState, which would read on every activation). Waiters are held here and
/// woken by the write. An activation with no waiter deactivates as soon as its call ends, so
/// a million stored results do not mean a million activations.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
// Activated where the first caller is, usually the worker that writes the result: no network
// hop for the write, and no placement statistics to consult for a grain this short-lived.
[Orleans.Placement.PreferLocalPlacement]
internal sealed partial class TaskResultGrain : Grain, ITaskResultGrain
{
    private readonly IResultStore _store;
    private readonly ResultGridOptions _options;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskResultGrain> _logger;
    private readonly List<TaskCompletionSource<TaskResult>> _waiters = [];

    // Only a READY result is cached: it is what waiters need, and a non-READY one may still be
    // changed by a writer outside the cluster (a Celery worker on a shared Redis).
    private TaskResult? _ready;

    public TaskResultGrain(ResultStores stores, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, TimeProvider time, ILogger<TaskResultGrain> logger)
    {
        _store = stores.Default;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    private string TaskId => this.GetPrimaryKeyString();

    public async Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires)
    {
        var record = Prepare(result, expires);
        var outcome = await Store("write", () => _store.WriteAsync(record));
        if (outcome.Applied)
        {
            _metrics.Stored(_store.Backend, record.State);
            _ready = record.IsReady ? record : null;
        }
        else
        {
            LogKeptSuccess(_logger, TaskId, record.State);
            _ready = outcome.Current;
        }

        if (_ready is not null && _waiters.Count > 0)
        {
            await WakeWaitersAsync(_ready);
        }
        else if (_waiters.Count == 0)
        {
            DeactivateOnIdle();
        }

        return outcome.Outcome;
    }

    public async Task<TaskResult> GetAsync()
    {
        var result = await LoadAsync();
        if (result.IsReady && _store.SingleRetrieval)
        {
            result = await ConsumeAsync();
        }

        _metrics.Read(_store.Backend, result.State);
        DeactivateIfUnwatched();
        return result;
    }

    public async Task<TaskResult> WaitAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        var current = await LoadAsync();
        if (current.IsReady)
        {
            if (_store.SingleRetrieval)
            {
                current = await ConsumeAsync();
            }

            _metrics.Read(_store.Backend, current.State);
            DeactivateIfUnwatched();
            return current;
        }

        if (current.State == TaskStates.Consumed || maxWait <= TimeSpan.Zero)
        {
            DeactivateIfUnwatched();
            return current;
        }

        var waiter = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add(waiter);
        _metrics.WaiterAdded();
        try
        {
            var ready = await waiter.Task.WaitAsync(maxWait, _time, cancellationToken);
            _metrics.Read(_store.Backend, ready.State);
            return ready;
        }
        catch (TimeoutException)
        {
            // Not ready within this slice; the client calls again. What it saw last is enough.
            return current;
        }
        finally
        {
            _waiters.Remove(waiter);
            _metrics.WaiterRemoved();
            if (_waiters.Count == 0 && (_ready is not null || _store.SingleRetrieval && waiter.Task.IsCompletedSuccessfully))
            {
                DeactivateOnIdle();
            }
        }
    }

    public async Task<bool> ExistsAsync()
    {
        var exists = _ready is not null && !_ready.IsExpired(_time.GetUtcNow()) && !_store.SingleRetrieval
            || await Store("exists", () => _store.ExistsAsync(TaskId));
        DeactivateIfUnwatched();
        return exists;
    }

    public async Task<bool> ForgetAsync()
    {
        var existed = await Store("forget", () => _store.ForgetAsync(TaskId));
        _ready = null;
        DeactivateIfUnwatched();
        return existed;
    }

    private TaskResult Prepare(TaskResult result, TimeSpan? expires)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!string.Equals(result.TaskId, TaskId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The result names task '{result.TaskId}' but was sent to the grain of task '{TaskId}'.", nameof(result));
        }

        TaskIds.Validate(TaskId);
        if (result.State is TaskStates.Pending or TaskStates.Consumed)
        {
            throw new ArgumentException($"State {result.State} cannot be written: PENDING is what an unknown id reads as and CONSUMED is set by the rpc:// backend.", nameof(result));
        }

        if (!TaskStates.IsBuiltIn(result.State))
        {
            TaskStates.ValidateCustom(result.State);
        }

        if (expires is { } e && e <= TimeSpan.Zero && e != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(expires), e, "A result's time to live must be positive, or Timeout.InfiniteTimeSpan for never.");
        }

        CheckSize(result.Payload);
        CheckSize(result.Args);
        CheckSize(result.Kwargs);
        foreach (var id in result.Children ?? [])
        {
            TaskIds.Validate(id, "children");
        }

        var now = _time.GetUtcNow();
        var ttl = expires == Timeout.InfiniteTimeSpan ? null : expires ?? _options.DefaultTimeToLive;
        var record = result with
        {
            DateDone = result.IsReady ? now : null,
            ExpiresAt = ttl is { } t ? now + t : null,
        };
        return _options.ExtendedResults ? record : record.WithoutExtended();
    }

    private void CheckSize(ResultPayload? payload)
    {
        if (payload is not null && payload.Data.LongLength > _options.MaxResultBytes)
        {
            throw new ResultTooLargeException(TaskId, payload.Data.LongLength, _options.MaxResultBytes);
        }
    }

    private async Task<TaskResult> LoadAsync()
    {
        if (_ready is not null && !_ready.IsExpired(_time.GetUtcNow()))
        {
            return _ready;
        }

        var stored = await Store("read", () => _store.ReadAsync(TaskId));
        _ready = stored is { IsReady: true } ? stored : null;
        return stored ?? TaskResult.Pending(TaskId);
    }

    /// <summary>rpc://: take the result out of the store, atomically, so only one reader ever gets it.</summary>
    private async Task<TaskResult> ConsumeAsync()
    {
        var taken = await Store("consume", () => _store.ConsumeAsync(TaskId));
        _ready = null;
        return taken ?? TaskResult.Consumed(TaskId);
    }

    private async Task WakeWaitersAsync(TaskResult ready)
    {
        var waiters = _waiters.ToArray();
        if (_store.SingleRetrieval)
        {
            // One retrieval: the longest-waiting waiter gets the result, the others learn it is gone.
            var taken = await ConsumeAsync();
            waiters[0].TrySetResult(taken);
            foreach (var other in waiters.AsSpan(1))
            {
                other.TrySetResult(TaskResult.Consumed(TaskId));
            }

            return;
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetResult(ready);
        }
    }

    private void DeactivateIfUnwatched()
    {
        if (_waiters.Count == 0)
        {
            DeactivateOnIdle();
        }
    }

    private async Task<T> Store<T>(string operation, Func<ValueTask<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not ArgumentException)
        {
            _metrics.StoreError(_store.Backend, operation);
            LogStoreFailed(_logger, ex, operation, TaskId, _store.Backend);
            throw;
        }
        finally
        {
            _metrics.StoreDuration(_store.Backend, operation, started);
        }
    }

    [LoggerMessage(10, LogLevel.Debug, "Task {TaskId}: a {State} write left the stored SUCCESS in place")]
    private static partial void LogKeptSuccess(ILogger logger, string taskId, string state);

    [LoggerMessage(11, LogLevel.Warning, "Task {TaskId}: store {Operation} on backend {Backend} failed; nothing was acknowledged")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string operation, string taskId, string backend);
}
