using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// The write path, in one place: validate, stamp date done and expiry, one conditional store
/// write (no read first), then, for a READY result, hand it to the notifier (wake its waiters if
/// it has any, tell its group), which never changes the answer.
/// </summary>
internal sealed partial class ResultWriteService
{
    private readonly IResultStore _store;
    private readonly ResultNotifier _notifier;
    private readonly ResultGridOptions _options;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ResultWriteService> _logger;
    private readonly Serialization.ResultSerializer _serializer;
    private readonly ResultFeedPublisher _feed;

    // Null while ResultGrid:History is off (the store then offers no history): writes are then exactly the plain ones.
    private readonly IResultHistory? _history;

    public ResultWriteService(ResultStores stores, ResultNotifier notifier, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, TimeProvider time, ILogger<ResultWriteService> logger, Serialization.ResultSerializer serializer, ResultFeedPublisher feed)
    {
        _feed = feed;
        _serializer = serializer;
        _store = stores.Default;
        _history = _store.Capability<IResultHistory>();
        _notifier = notifier;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    public Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Without a listener there is no span to open: one async frame fewer per write.
        return ResultGridActivity.Source.HasListeners() ? WriteSpannedAsync(result, expires) : WriteTracedAsync(result, expires);
    }

    private async Task<WriteOutcome> WriteSpannedAsync(TaskResult result, TimeSpan? expires)
    {
        // The span around the whole write: its store call and its notification are children.
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Write);
        activity?.SetTag(ResultGridActivity.TaskIdTag, result.TaskId).SetTag(ResultGridActivity.StateTag, result.State).SetTag(ResultGridActivity.BackendTag, _store.Backend);
        try
        {
            var outcome = await WriteTracedAsync(result, expires);
            activity?.SetTag(ResultGridActivity.OutcomeTag, ResultGridActivity.OutcomeName(outcome));
            return outcome;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    private async Task<WriteOutcome> WriteTracedAsync(TaskResult result, TimeSpan? expires)
    {
        var record = Prepare(result, expires);
        var outcome = _history is { } history
            ? await StoreCall.Run(_store, _metrics, _logger, "write", record.TaskId, () => history.WriteWithHistoryAsync(record, HistoryEntry(record)))
            : await StoreCall.Run(_store, _metrics, _logger, "write", record.TaskId, () => _store.WriteAsync(record));

        // From here on the answer is the store's: what follows is delivered apart from it (the
        // notifier retries on a fresh activation) and can never turn a stored write into an error.
        TaskResult? ready;
        if (outcome.Applied)
        {
            _metrics.Stored(_store.Backend, record.State);
            _feed.Written(record, _time.GetUtcNow());
            ready = record.IsReady ? record : null;
        }
        else
        {
            LogNotApplied(_logger, record.TaskId, record.State, outcome.Outcome);
            // A waiter that registered while SUCCESS was already stored has read it; one that
            // registered since would have been woken by that earlier write. Wake anyway when the
            // store returned the SUCCESS: it costs nothing and closes any gap.
            ready = outcome.Current;
            if (IsThisWriteAgain(record, outcome.Current))
            {
                // The same SUCCESS, byte for byte: this write retried after an attempt whose
                // answer was lost (the SQL stores decide so in the statement). The store holds
                // exactly what was written, so the answer is Stored, on every backend alike.
                outcome = StoreWriteResult.Stored with { Current = outcome.Current };
            }
        }

        // Children push: the group counts without ever reading its children again. Also when the
        // store kept a SUCCESS: that is how a retried write of a stored child (whose first call
        // failed after the store had it) still reaches a group that was never told.
        var groupId = record.GroupId ?? ready?.GroupId;
        var childState = ready?.EffectiveState ?? (outcome.Outcome == WriteOutcome.KeptSuccess ? TaskStates.Success : null);
        var wake = ready is null ? Task.CompletedTask : _notifier.WakeAsync(ready);
        if (ready is null && outcome.Applied)
        {
            // A state that is not READY (STARTED, RETRY, PROGRESS meta) wakes only watchers of
            // every change (a live view); none of them is owed it before the write's answer.
            _notifier.Changed(record);
        }

        if (groupId is not null && childState is not null)
        {
            await Task.WhenAll(wake, _notifier.ChildReadyAsync(groupId, record.TaskId, childState));
        }
        else
        {
            await wake;
        }

        return outcome.Outcome;
    }

    /// <summary>
    /// The timeline entry of a write: its state at the silo's clock (the time the result's expiry
    /// is counted from), worker and retries as written, and for FAILURE, RETRY and REVOKED the
    /// exception's type and message as one short line. The reason is read by the serializer's own
    /// failure reader, so it says what a reader of the result would see.
    /// </summary>
    private ResultHistoryEntry HistoryEntry(TaskResult record) => new()
    {
        State = record.State,
        At = record.DateDone ?? _time.GetUtcNow(),
        Worker = record.Worker,
        Retries = record.Retries,
        Reason = TaskStates.IsExceptionState(record.State) ? ResultHistoryEntry.ShortReason(FailureText(record)) : null,
    };

    private string? FailureText(TaskResult record)
    {
        try
        {
            return _serializer.ReadFailure(record).ToString();
        }
        catch (Serialization.ResultDecodeException)
        {
            // An exception document that cannot be read still is a state change: kept without a reason.
            return null;
        }
    }

    private static bool IsThisWriteAgain(TaskResult record, TaskResult? stored) =>
        stored is { State: TaskStates.Success } && record.State == TaskStates.Success &&
        // The content encoding is not compared: backends spell JSON's utf-8 differently, and a
        // compression changes the bytes anyway.
        stored.Payload?.ContentType == record.Payload?.ContentType &&
        (stored.Payload?.Data ?? []).AsSpan().SequenceEqual(record.Payload?.Data ?? []);

    private TaskResult Prepare(TaskResult result, TimeSpan? expires)
    {
        ArgumentNullException.ThrowIfNull(result);
        TaskIds.Validate(result.TaskId, nameof(result));
        if (result.State is TaskStates.Pending or TaskStates.Consumed or TaskStates.Unreadable || result.Problem is not null)
        {
            throw new ArgumentException($"State {result.State}{(result.Problem is null ? string.Empty : " with a read problem")} cannot be written: PENDING is what an unknown id reads as, CONSUMED is set by a single-retrieval backend (rpc://, or single_retrieval=true) when a result is handed out, and UNREADABLE (or a record's Problem) is what a damaged stored record reads as.", nameof(result));
        }

        if (!TaskStates.IsBuiltIn(result.State))
        {
            TaskStates.ValidateCustom(result.State);
        }

        TaskIds.ValidateExpires(expires, nameof(expires));

        // Accept-content on write, as the silo sees it: a value this cluster's readers are not
        // configured to read is refused before it is stored. Exception documents are always
        // Celery's JSON, read by a fixed parser, and exempt.
        if (result.Payload is { } value && !TaskStates.IsExceptionState(result.State) && !_serializer.Accepts(value.ContentType))
        {
            throw new ArgumentException(
                $"The result of task '{result.TaskId}' is {value.ContentType}, which this cluster does not accept; accepted: {_serializer.AcceptedContentTypes}. " +
                "Add it to ResultGrid:Serialization:AcceptContent on the silos.", nameof(result));
        }

        // Extended fields are dropped before anything is checked: a field that is not stored
        // must not be able to refuse the result.
        var stored = _options.ExtendedResults ? result : result.WithoutExtended();
        CheckSize(stored.TaskId, "result", stored.Payload);
        CheckSize(stored.TaskId, "args", stored.Args);
        CheckSize(stored.TaskId, "kwargs", stored.Kwargs);
        if (stored.Traceback is { } traceback && Encoding.UTF8.GetByteCount(traceback) > _options.MaxResultBytes)
        {
            throw new ResultTooLargeException(stored.TaskId, "traceback", Encoding.UTF8.GetByteCount(traceback), _options.MaxResultBytes);
        }

        foreach (var id in stored.Children ?? [])
        {
            TaskIds.Validate(id, "children");
        }

        if (stored.GroupId is not null)
        {
            TaskIds.Validate(stored.GroupId, "groupId");
        }

        if (stored.ParentId is not null)
        {
            TaskIds.Validate(stored.ParentId, "parentId");
        }

        TaskIds.ValidateField(stored.Name, "name");
        TaskIds.ValidateField(stored.Worker, "worker");
        TaskIds.ValidateField(stored.Queue, "queue");
        if (stored.Retries is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(result), stored.Retries, "The retry count must be 0 or more.");
        }

        var now = _time.GetUtcNow();
        var ttl = expires == Timeout.InfiniteTimeSpan ? null : expires ?? _options.DefaultTimeToLive;
        return stored with
        {
            DateDone = stored.IsReady ? now : null,
            ExpiresAt = ttl is { } t ? now + t : null,
        };
    }

    private void CheckSize(string taskId, string what, ResultPayload? payload)
    {
        if (payload is not null && payload.Data.LongLength > _options.MaxResultBytes)
        {
            throw new ResultTooLargeException(taskId, what, payload.Data.LongLength, _options.MaxResultBytes);
        }
    }

    [LoggerMessage(10, LogLevel.Debug, "Task {TaskId}: a {State} write changed nothing ({Outcome})")]
    private static partial void LogNotApplied(ILogger logger, string taskId, string state, WriteOutcome outcome);
}
