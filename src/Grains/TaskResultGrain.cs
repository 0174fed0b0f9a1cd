using System.Diagnostics;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// One task's result, as readers and waiters see it. Waiters are held here and woken by the
/// writer's notification; there is no polling. Every read goes to the store (the source of
/// truth, which a Celery worker on a shared backend may also write), and an activation with no
/// waiter deactivates as soon as its call ends, so reads and writes of a million results do not
/// leave a million activations.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
// Activated where the first caller is, usually the process that waits: no network hop for the
// wait, and no placement statistics to consult for a grain this short-lived.
[Orleans.Placement.PreferLocalPlacement]
internal sealed class TaskResultGrain : Grain, ITaskResultGrain
{
    private readonly IResultStore _store;
    private readonly WaiterIndex _index;
    private readonly ResultNotifier _notifier;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskResultGrain> _logger;
    private readonly List<TaskCompletionSource<TaskResult>> _waiters = [];

    // Watchers of every state change (WatchAsync): woken by any notification, they read the store.
    private readonly List<TaskCompletionSource> _watchers = [];
    private readonly Guid _registration = Guid.NewGuid();
    private DateTimeOffset _registeredUntil;

    // A store that others write to as well (Redis shared with Celery) wakes waiters through its
    // change feed; null when there is none, or no waiter has asked yet.
    private IAsyncDisposable? _watch;

    // Wait calls between their start and parking (registering, reading the store).
    private int _waitsStarting;

    // The READY result a writer handed over. A notification can arrive while a wait call is
    // still reading the store (the calls interleave); the wait checks this before parking, or
    // it would sleep through its own wake-up until the next slice.
    private TaskResult? _notified;

    // The span of the last notification (or the call that brought it), for a woken wait's link.
    private ActivityContext? _wokenBy;

    private readonly ResultGridOptions _options;

    public TaskResultGrain(ResultStores stores, WaiterIndex index, ResultNotifier notifier, ResultGridMetrics metrics, IOptions<ResultGridOptions> options, TimeProvider time, ILogger<TaskResultGrain> logger)
    {
        _store = stores.Default;
        _options = options.Value;
        _index = index;
        _notifier = notifier;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    private string TaskId => this.GetPrimaryKeyString();

    public async Task<TaskResult> GetAsync()
    {
        var result = await LoadAsync();
        if (result.IsReady && _store.SingleRetrieval)
        {
            result = await ConsumeAsync();
        }

        await ExpireAfterReadAsync(result);
        _metrics.Read(_store.Backend, result.State);
        DeactivateIfUnwatched();
        return result;
    }

    public async Task<string> GetStateAsync()
    {
        var state = (await LoadAsync()).State;
        DeactivateIfUnwatched();
        return state;
    }

    public async Task<TaskResult> WaitAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        // One span per slice: parked, then woken (linked to the wake, which is in the writer's
        // trace) or timed out.
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Wait);
        activity?.SetTag(ResultGridActivity.TaskIdTag, TaskId).SetTag(ResultGridActivity.BackendTag, _store.Backend);
        try
        {
            var (result, outcome) = await WaitSliceAsync(maxWait, activity, cancellationToken);
            activity?.SetTag(ResultGridActivity.StateTag, result.State).SetTag(ResultGridActivity.OutcomeTag, outcome).SetTag(ResultGridActivity.WokenTag, ReferenceEquals(outcome, Woken));
            return result;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    // A wait slice's outcomes, as its span tells them.
    private const string Ready = "ready";
    private const string Woken = "woken";
    private const string TimedOut = "timedOut";
    private const string Consumed = "consumed";

    private async Task<(TaskResult Result, string Outcome)> WaitSliceAsync(TimeSpan maxWait, Activity? activity, CancellationToken cancellationToken)
    {
        maxWait = Bounded(maxWait);
        _metrics.WaitStarted();
        TaskResult current;
        _waitsStarting++;
        try
        {
            await RegisterAsync(maxWait);
            current = await LoadOrNotifiedAsync();
        }
        finally
        {
            _waitsStarting--;
        }

        if (current.IsReady)
        {
            var delivered = await HandOutAsync(current);
            DeactivateIfUnwatched();
            return (delivered, delivered.State == TaskStates.Consumed ? Consumed : Ready);
        }

        if (current.State == TaskStates.Consumed || maxWait <= TimeSpan.Zero)
        {
            DeactivateIfUnwatched();
            return (current, current.State == TaskStates.Consumed ? Consumed : TimedOut);
        }

        var waiter = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add(waiter);
        _metrics.WaiterAdded();
        activity?.AddEvent(new ActivityEvent("parked"));
        TaskResult ready;
        try
        {
            ready = await waiter.Task.WaitAsync(maxWait, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Not ready within this slice; the client calls again (and re-registers). What it
            // saw last is enough.
            activity?.AddEvent(new ActivityEvent("timed out"));
            return (current, TimedOut);
        }
        finally
        {
            _waiters.Remove(waiter);
            _metrics.WaiterRemoved();
            DeactivateIfUnwatched();
        }

        if (activity is not null)
        {
            activity.AddEvent(new ActivityEvent("woken"));
            if (_wokenBy is { } wake && wake.TraceId != activity.TraceId)
            {
                // The wake belongs to the writer's trace: linked, so either trace leads to the other.
                activity.AddLink(new ActivityLink(wake));
            }
        }

        // Only a waiter that is still here takes the result: with single retrieval the store's atomic consume
        // picks one among concurrent waiters, and one whose slice ended never takes it away.
        var handed = await HandOutAsync(ready);
        return (handed, handed.State == TaskStates.Consumed ? Consumed : Woken);
    }

    public async Task<TaskResult> WatchAsync(string? seenVersion, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        maxWait = Bounded(maxWait);
        var started = _time.GetTimestamp();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskResult current;
        _waitsStarting++;
        try
        {
            await RegisterAsync(maxWait);

            // Listening before reading: a change stored while the read runs completes this.
            _watchers.Add(changed);
            _metrics.WaiterAdded();
            current = await LoadOrNotifiedAsync();
        }
        catch
        {
            _watchers.Remove(changed);
            throw;
        }
        finally
        {
            _waitsStarting--;
        }

        try
        {
            while (true)
            {
                if (current.IsReady)
                {
                    return await HandOutAsync(current);
                }

                var remaining = maxWait - _time.GetElapsedTime(started);
                if (seenVersion is null || current.State == TaskStates.Consumed || remaining <= TimeSpan.Zero || TaskResultVersion.Of(current) != seenVersion)
                {
                    return current;
                }

                try
                {
                    await changed.Task.WaitAsync(remaining, _time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    return current;
                }

                // A wake says only that something was stored: the store says what. So a late
                // notification of an older PROGRESS never shows through a newer one.
                _watchers.Remove(changed);
                changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _watchers.Add(changed);
                current = await LoadOrNotifiedAsync();
            }
        }
        finally
        {
            _watchers.Remove(changed);
            _metrics.WaiterRemoved();
            DeactivateIfUnwatched();
        }
    }

    public Task NotifyAsync(TaskResult stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.TaskId != TaskId)
        {
            DeactivateIfUnwatched();
            return Task.CompletedTask;
        }

        // The woken waiter, in the writer's trace: how many this notification completed.
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Wake);
        _wokenBy = activity?.Context ?? Activity.Current?.Context;
        var woken = 0;
        if (stored.IsReady)
        {
            _notified = stored;
            foreach (var waiter in _waiters.ToArray())
            {
                woken += waiter.TrySetResult(stored) ? 1 : 0;
            }
        }

        foreach (var watcher in _watchers.ToArray())
        {
            woken += watcher.TrySetResult() ? 1 : 0;
        }

        activity?.SetTag(ResultGridActivity.TaskIdTag, stored.TaskId).SetTag(ResultGridActivity.StateTag, stored.State).SetTag(ResultGridActivity.WaitersTag, woken);
        DeactivateIfUnwatched();
        return Task.CompletedTask;
    }

    // A wait parks for at most MaxPark whatever the caller asked (the SDK loops): that bounds how
    // long a registration can live, which is what lets a waiter-index partition that lost its
    // state (its silo died) know how long to assume that anyone may be waiting.
    private static TimeSpan Bounded(TimeSpan maxWait) => maxWait > WaiterIndex.MaxPark ? WaiterIndex.MaxPark : maxWait;

    /// <summary>Makes this grain findable by writers (and by an outside store's feed) before it reads.</summary>
    private async Task RegisterAsync(TimeSpan maxWait)
    {
        if (maxWait <= TimeSpan.Zero)
        {
            return;
        }

        // Register before reading: a write that lands after the read finds the registration.
        var until = _time.GetUtcNow() + maxWait + WaiterIndex.RegistrationSlack;
        if (until > _registeredUntil)
        {
            await _index.RegisterAsync(TaskId, _registration, until);
            _registeredUntil = until;
        }

        if (_watch is null && _store.TryGetCapability<IResultChangeFeed>(out var feed))
        {
            // Like the index: watch first, read second, so no outside write is missed. The wake
            // goes through the notifier, which retries it if the call fails.
            var self = this.AsReference<ITaskResultGrain>();
            _watch = await feed.WatchAsync(TaskId, changed => _notifier.WakeAsync(self, changed));
        }
    }

    private async Task<TaskResult> LoadOrNotifiedAsync()
    {
        var current = await LoadAsync();
        return !current.IsReady && _notified is { } notified && !notified.IsExpired(_time.GetUtcNow()) ? notified : current;
    }

    /// <summary>A READY result to its reader: taken from the store with single retrieval (rpc://, ?single_retrieval=true), expire-after-read applied, counted.</summary>
    private async Task<TaskResult> HandOutAsync(TaskResult ready)
    {
        if (_store.SingleRetrieval)
        {
            ready = await ConsumeAsync();
        }

        await ExpireAfterReadAsync(ready);
        _metrics.Read(_store.Backend, ready.State);
        return ready;
    }

    public async Task<bool> ExistsAsync()
    {
        var exists = await StoreCall.Run(_store, _metrics, _logger, "exists", TaskId, () => _store.ExistsAsync(TaskId));
        DeactivateIfUnwatched();
        return exists;
    }

    public async Task<ResultExistence> GetExistenceAsync()
    {
        var existence = await StoreCall.Run(_store, _metrics, _logger, "exists", TaskId, () => _store.GetExistenceAsync(TaskId));
        DeactivateIfUnwatched();
        return existence;
    }

    public async Task<bool> ForgetAsync()
    {
        _notified = null;
        var existed = await StoreCall.Run(_store, _metrics, _logger, "forget", TaskId, () => _store.ForgetAsync(TaskId));
        DeactivateIfUnwatched();
        return existed;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync();
        }

        if (_registeredUntil > _time.GetUtcNow())
        {
            // Only this activation's own registration goes: a newer activation's stays.
            await _index.UnregisterAsync(TaskId, _registration);
        }
    }

    /// <summary>
    /// ExpireAfterRead: a READY result handed to a reader expires that long from now, unless it
    /// expires sooner anyway (so later reads change nothing). Not with single retrieval, which consumed it (its marker keeps the original expiry).
    /// </summary>
    private async Task ExpireAfterReadAsync(TaskResult delivered)
    {
        if (_options.ExpireAfterRead is not { } after || !delivered.IsReady || _store.SingleRetrieval)
        {
            return;
        }

        var at = _time.GetUtcNow() + after;
        if (delivered.ExpiresAt is not { } current || current > at)
        {
            await StoreCall.Run(_store, _metrics, _logger, "expire", TaskId, () => _store.ExpireAsync(TaskId, at));
        }
    }

    private async Task<TaskResult> LoadAsync()
    {
        var stored = await StoreCall.Run(_store, _metrics, _logger, "read", TaskId, () => _store.ReadAsync(TaskId));
        return stored ?? TaskResult.Pending(TaskId);
    }

    /// <summary>Single retrieval: take the result out of the store, atomically in the store, so only one reader on any silo ever gets it.</summary>
    private async Task<TaskResult> ConsumeAsync()
    {
        _notified = null;
        var taken = await StoreCall.Run(_store, _metrics, _logger, "consume", TaskId, () => _store.ConsumeAsync(TaskId));
        return taken ?? TaskResult.Consumed(TaskId);
    }

    private void DeactivateIfUnwatched()
    {
        if (_waiters.Count == 0 && _watchers.Count == 0 && _waitsStarting == 0)
        {
            DeactivateOnIdle();
        }
    }
}
