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
        return await DeliverAsync(record, outcome);
    }

    /// <summary>
    /// Writes that arrive together (the SDK's gathered writes): each checked as a single write is
    /// (a bad one is its own reply), the rest in one <see cref="IResultStore.WriteManyAsync"/>, and
    /// each stored write delivered as a single one is. Each reply is that write's own answer: its
    /// outcome once the store has acknowledged it, or its own error. Traced writes and writes with
    /// a history go one by one, each with its own span and its own timeline entry.
    /// </summary>
    public async Task<ResultWriteReply[]> WriteManyAsync(IReadOnlyList<ResultWrite> writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (_history is not null || ResultGridActivity.Source.HasListeners())
        {
            var each = new Task<WriteOutcome>[writes.Count];
            for (var i = 0; i < each.Length; i++)
            {
                each[i] = WriteOneOf(writes[i]);
            }

            return await EachAnswer.Of(each, static o => new ResultWriteReply(o, null), static ex => new ResultWriteReply(default, ex));
        }

        var records = new List<TaskResult>(writes.Count);
        var slots = new List<int>(writes.Count);
        var refused = new List<(int Index, Exception Error)>();
        for (var i = 0; i < writes.Count; i++)
        {
            try
            {
                ArgumentNullException.ThrowIfNull(writes[i]);
                records.Add(Prepare(writes[i].Result, writes[i].Expires));
                slots.Add(i);
            }
            catch (Exception ex)
            {
                refused.Add((i, ex));
            }
        }

        var replies = new ResultWriteReply[writes.Count];
        foreach (var (i, error) in refused)
        {
            replies[i] = new ResultWriteReply(default, error);
        }

        if (records.Count == 0)
        {
            return replies;
        }

        var answers = await StoreCall.RunMany(_store, _metrics, _logger, records);
        var stored = new List<(TaskResult Record, StoreWriteResult Outcome)>(answers.Length);
        var storedSlots = new List<int>(answers.Length);
        for (var j = 0; j < answers.Length; j++)
        {
            if (answers[j].Error is { } error)
            {
                replies[slots[j]] = new ResultWriteReply(default, error);
            }
            else
            {
                stored.Add((records[j], answers[j].Result!.Value));
                storedSlots.Add(slots[j]);
            }
        }

        var outcomes = await DeliverManyAsync(stored);
        for (var k = 0; k < outcomes.Length; k++)
        {
            replies[storedSlots[k]] = new ResultWriteReply(outcomes[k], null);
        }

        return replies;
    }

    // A write that throws before its first await (a bad argument) fails as its own reply.
    private Task<WriteOutcome> WriteOneOf(ResultWrite write)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(write);
            return WriteAsync(write.Result, write.Expires);
        }
        catch (Exception ex)
        {
            return Task.FromException<WriteOutcome>(ex);
        }
    }

    /// <summary>After the store's answer: count it, publish it to the feed, wake and tell the group.</summary>
    private async Task<WriteOutcome> DeliverAsync(TaskResult record, StoreWriteResult outcome)
    {
        var settled = Settle(record, outcome);
        var wake = settled.Ready is null ? Task.CompletedTask : _notifier.WakeAsync(settled.Ready);
        await (TellGroup(record, settled) is { } told ? Task.WhenAll(wake, told) : wake);
        return settled.Outcome;
    }

    /// <summary>
    /// The store's answers to writes stored together, delivered as <see cref="DeliverAsync"/>
    /// delivers one, with one question to the waiter index for all of them.
    /// </summary>
    private async Task<WriteOutcome[]> DeliverManyAsync(List<(TaskResult Record, StoreWriteResult Outcome)> stored)
    {
        var outcomes = new WriteOutcome[stored.Count];
        var ready = new List<TaskResult>(stored.Count);
        List<Task>? told = null;
        for (var i = 0; i < outcomes.Length; i++)
        {
            var (record, outcome) = stored[i];
            var settled = Settle(record, outcome);
            outcomes[i] = settled.Outcome;
            if (settled.Ready is not null)
            {
                ready.Add(settled.Ready);
            }

            if (TellGroup(record, settled) is { } group)
            {
                (told ??= []).Add(group);
            }
        }

        var wake = _notifier.WakeManyAsync(ready);
        await (told is null ? wake : Task.WhenAll(told.Append(wake)));
        return outcomes;
    }

    /// <summary>
    /// What a stored write's answer means for what follows it: counted and published to the feed
    /// when applied; the result to wake waiters with (this write's, or the SUCCESS the store kept);
    /// a retry of the same SUCCESS answered as Stored. From here on the answer is the store's:
    /// what follows is delivered apart from it (the notifier retries on a fresh activation) and
    /// can never turn a stored write into an error.
    /// </summary>
    private Settled Settle(TaskResult record, StoreWriteResult outcome)
    {
        TaskResult? ready;
        if (outcome.Applied)
        {
            _metrics.Stored(_store.Backend, record.State);
            _feed.Written(record, _time.GetUtcNow());
            ready = record.IsReady ? record : null;
            if (ready is null)
            {
                // A state that is not READY (STARTED, RETRY, PROGRESS meta) wakes only watchers of
                // every change (a live view); none of them is owed it before the write's answer.
                _notifier.Changed(record);
            }
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

        return new Settled(outcome.Outcome, ready);
    }

    /// <summary>
    /// Children push: the group counts without ever reading its children again. Also when the
    /// store kept a SUCCESS: that is how a retried write of a stored child (whose first call
    /// failed after the store had it) still reaches a group that was never told. Null when there
    /// is no group to tell.
    /// </summary>
    private Task? TellGroup(TaskResult record, Settled settled)
    {
        var groupId = record.GroupId ?? settled.Ready?.GroupId;
        var childState = settled.Ready?.EffectiveState ?? (settled.Outcome == WriteOutcome.KeptSuccess ? TaskStates.Success : null);
        return groupId is not null && childState is not null ? _notifier.ChildReadyAsync(groupId, record.TaskId, childState) : null;
    }

    /// <summary>A write's answer (<see cref="WriteOutcome"/>) and the result its waiters are woken with, if any.</summary>
    private readonly record struct Settled(WriteOutcome Outcome, TaskResult? Ready);

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
