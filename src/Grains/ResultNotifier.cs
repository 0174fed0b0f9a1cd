using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ResultGrid.Grains;

/// <summary>
/// Delivers what follows a stored write: the READY result to its grain when someone may be
/// waiting, and the child's state to its group. One place for both, so the rule holds for every
/// path that stores a result (the writer grain, the task runner, the Redis change feed): the
/// write's answer is the store's answer, and a failed delivery is retried on a fresh activation
/// with back-off, then logged and counted, never thrown at the writer.
/// </summary>
internal sealed partial class ResultNotifier
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly WaiterIndex _waiters;
    private readonly IGrainFactory _grains;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ResultNotifier> _logger;
    private readonly ResultNotificationOptions _options;
    private int _retrying;

    public ResultNotifier(WaiterIndex waiters, IGrainFactory grains, ResultGridMetrics metrics, TimeProvider time, IOptions<ResultNotificationOptions> options, ILogger<ResultNotifier> logger)
    {
        _waiters = waiters;
        _grains = grains;
        _metrics = metrics;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Deliveries being retried on this silo right now.</summary>
    public int Retrying => Volatile.Read(ref _retrying);

    /// <summary>
    /// Wakes the waiters of <paramref name="ready"/>'s task, if it has any. The returned task ends
    /// when the first attempt has (or at once, see <see cref="ResultNotificationOptions.AwaitDelivery"/>);
    /// it never fails.
    /// </summary>
    public Task WakeAsync(TaskResult ready) => DeliverAsync(new Delivery(DeliveryKind.Wake, ready.TaskId, null, ready, null));

    /// <summary>
    /// Wakes the waiters of each of <paramref name="ready"/> (results stored together): the index
    /// is asked about all of them at once, and only those that may have waiters are handed to
    /// their grains, each delivery retried on its own as <see cref="WakeAsync(TaskResult)"/>'s is.
    /// Ends as <see cref="WakeAsync(TaskResult)"/> does; never fails.
    /// </summary>
    public Task WakeManyAsync(IReadOnlyList<TaskResult> ready)
    {
        if (ready.Count <= 1 || ResultGridActivity.Source.HasListeners())
        {
            // Traced: each wake its own span, as a single write's.
            return ready.Count == 0 ? Task.CompletedTask : Task.WhenAll(ready.Select(WakeAsync));
        }

        if (!_options.AwaitDelivery || _time.GetTimestamp() < Volatile.Read(ref _troubleUntil))
        {
            _ = WakeManyOnceAsync(ready);
            return Task.CompletedTask;
        }

        return WakeManyOnceAsync(ready);
    }

    private async Task WakeManyOnceAsync(IReadOnlyList<TaskResult> ready)
    {
        var (mayWait, failure) = await _waiters.HasWaitersManyAsync(ready.Select(r => r.TaskId).ToArray()).ConfigureAwait(false);

        List<Task>? deliveries = null;
        for (var i = 0; i < ready.Count; i++)
        {
            if (mayWait[i] is false)
            {
                continue;
            }

            if (mayWait[i] is null)
            {
                // Its partition could not be asked: hand the result over, as a single wake does.
                LogIndexUnavailable(_logger, failure, ready[i].TaskId);
            }

            var result = ready[i];
            (deliveries ??= []).Add(DeliverWithRetriesAsync(new Delivery(DeliveryKind.WakeGrain, result.TaskId, null, result, _grains.GetGrain<ITaskResultGrain>(result.TaskId))));
        }

        if (deliveries is not null)
        {
            await Task.WhenAll(deliveries).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Tells the watchers of <paramref name="changed"/>'s task, if it has any, that a state that
    /// is not READY was stored. In the background: the write's answer never waits for it.
    /// </summary>
    public void Changed(TaskResult changed) => _ = DeliverWithRetriesAsync(new Delivery(DeliveryKind.Wake, changed.TaskId, null, changed, null));

    /// <summary>Wakes the waiters held by <paramref name="grain"/> (the change feed's path: the grain is known, the index is not asked).</summary>
    public Task WakeAsync(ITaskResultGrain grain, TaskResult ready) => DeliverAsync(new Delivery(DeliveryKind.WakeGrain, ready.TaskId, null, ready, grain));

    /// <summary>Tells group <paramref name="groupId"/> that its child <paramref name="taskId"/> is READY with <paramref name="state"/>.</summary>
    public Task ChildReadyAsync(string groupId, string taskId, string state) =>
        DeliverAsync(new Delivery(DeliveryKind.Group, taskId, groupId, new TaskResult { TaskId = taskId, State = state }, null));

    // After a delivery fails, writes stop waiting for theirs this long (see AwaitDelivery).
    private static readonly TimeSpan TroubleWindow = TimeSpan.FromSeconds(30);
    private long _troubleUntil;

    private Task DeliverAsync(Delivery delivery)
    {
        if (!_options.AwaitDelivery || _time.GetTimestamp() < Volatile.Read(ref _troubleUntil))
        {
            _ = DeliverWithRetriesAsync(delivery);
            return Task.CompletedTask;
        }

        return DeliverWithRetriesAsync(delivery);
    }

    /// <summary>The first attempt, then retries in the background if it failed. Never fails.</summary>
    private async Task DeliverWithRetriesAsync(Delivery delivery)
    {
        if (!await AttemptAsync(delivery).ConfigureAwait(false))
        {
            Volatile.Write(ref _troubleUntil, _time.GetTimestamp() + (long)(TroubleWindow.TotalSeconds * _time.TimestampFrequency));
            StartRetries(delivery);
        }
    }

    /// <summary>One attempt; false when it failed (the reason is logged at debug level).</summary>
    private async Task<bool> AttemptAsync(Delivery delivery)
    {
        try
        {
            await DeliverOnceAsync(delivery).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            LogAttemptFailed(_logger, ex, delivery.KindName, delivery.TaskId, delivery.GroupId ?? "-");
            return false;
        }
    }

    private Task DeliverOnceAsync(Delivery delivery) =>
        // Without a listener there is no span to open: one async frame fewer per delivery.
        ResultGridActivity.Source.HasListeners() ? DeliverSpannedAsync(delivery) : DeliverTracedAsync(delivery);

    private async Task DeliverSpannedAsync(Delivery delivery)
    {
        // One span per attempt, a child of the write's (the background retries too: the
        // execution context, and so the trace, flows into them).
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Notify);
        activity?.SetTag(ResultGridActivity.TaskIdTag, delivery.TaskId).SetTag(ResultGridActivity.DeliveryTag, delivery.KindName).SetTag(ResultGridActivity.StateTag, delivery.Result.State);
        if (delivery.GroupId is not null)
        {
            activity?.SetTag(ResultGridActivity.GroupIdTag, delivery.GroupId);
        }

        try
        {
            // Run first, tag after: an argument of activity?.SetTag is not evaluated when there is no span.
            var outcome = await DeliverTracedAsync(delivery).ConfigureAwait(false);
            activity?.SetTag(ResultGridActivity.OutcomeTag, outcome);
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>One delivery; what came of it, as a span's outcome: <c>delivered</c>, or <c>noWaiters</c> when the index knew of none.</summary>
    private async Task<string> DeliverTracedAsync(Delivery delivery)
    {
        {
            switch (delivery.Kind)
            {
                case DeliveryKind.Wake:
                    bool mayWait;
                    try
                    {
                        mayWait = await _waiters.HasWaitersAsync(delivery.TaskId).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The index partition is unreachable (its silo died, say): it cannot tell
                        // whether anyone waits, so hand the result over. A grain with no waiter
                        // deactivates at once; a waiter left asleep would sleep a whole slice.
                        LogIndexUnavailable(_logger, ex, delivery.TaskId);
                        mayWait = true;
                    }

                    if (!mayWait)
                    {
                        return "noWaiters";
                    }

                    await _grains.GetGrain<ITaskResultGrain>(delivery.TaskId).NotifyAsync(delivery.Result).ConfigureAwait(false);
                    return "delivered";
                case DeliveryKind.WakeGrain:
                    await delivery.Grain!.NotifyAsync(delivery.Result).ConfigureAwait(false);
                    return "delivered";
                default:
                    await _grains.GetGrain<IGroupResultGrain>(delivery.GroupId!).OnChildReadyAsync(delivery.TaskId, delivery.Result.State).ConfigureAwait(false);
                    return "delivered";
            }
        }
    }

    private void StartRetries(Delivery delivery)
    {
        if (Interlocked.Increment(ref _retrying) > _options.MaxRetrying || _options.RetryFor <= TimeSpan.Zero)
        {
            Interlocked.Decrement(ref _retrying);
            Abandon(delivery, attempts: 1);
            return;
        }

        _ = RetryAsync(delivery);
    }

    private async Task RetryAsync(Delivery delivery)
    {
        var started = _time.GetTimestamp();
        var delay = FirstRetryDelay;
        var attempts = 1;
        try
        {
            while (true)
            {
                // Full jitter: deliveries that failed together (one silo died under them) do not
                // all come back in the same instant.
                var wait = TimeSpan.FromTicks((long)(delay.Ticks * (0.5 + (Random.Shared.NextDouble() / 2))));
                await Task.Delay(wait, _time).ConfigureAwait(false);
                attempts++;
                _metrics.NotificationRetried(delivery.KindName);
                if (await AttemptAsync(delivery).ConfigureAwait(false))
                {
                    LogDelivered(_logger, delivery.KindName, delivery.TaskId, attempts);
                    return;
                }

                if (_time.GetElapsedTime(started) >= _options.RetryFor)
                {
                    Abandon(delivery, attempts);
                    return;
                }

                delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _retrying);
        }
    }

    private void Abandon(Delivery delivery, int attempts)
    {
        _metrics.NotificationAbandoned(delivery.KindName);
        LogAbandoned(_logger, delivery.KindName, delivery.TaskId, delivery.GroupId ?? "-", attempts);
    }

    private enum DeliveryKind
    {
        Wake,
        WakeGrain,
        Group,
    }

    private sealed record Delivery(DeliveryKind Kind, string TaskId, string? GroupId, TaskResult Result, ITaskResultGrain? Grain)
    {
        // Metric and log tag: two values only.
        public string KindName => Kind == DeliveryKind.Group ? "group" : "wake";
    }

    [LoggerMessage(30, LogLevel.Debug, "Task {TaskId}: the waiter index could not be asked; handing the result to its grain anyway")]
    private static partial void LogIndexUnavailable(ILogger logger, Exception? exception, string taskId);

    [LoggerMessage(31, LogLevel.Debug, "Task {TaskId}: {Kind} delivery failed (group {GroupId}); the write stands and the delivery is retried")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, string kind, string taskId, string groupId);

    [LoggerMessage(32, LogLevel.Information, "Task {TaskId}: {Kind} delivered after {Attempts} attempts")]
    private static partial void LogDelivered(ILogger logger, string kind, string taskId, int attempts);

    [LoggerMessage(33, LogLevel.Warning, "Task {TaskId}: {Kind} delivery abandoned after {Attempts} attempts (group {GroupId}); the result is stored, waiters read it at their next slice and groups reconcile from the store")]
    private static partial void LogAbandoned(ILogger logger, string kind, string taskId, string groupId, int attempts);
}
