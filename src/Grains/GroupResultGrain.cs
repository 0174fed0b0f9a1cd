using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Serialization;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// One group: its ordered children (saved in the store as Celery's taskset meta) and counts kept
/// from the children's pushes. On activation the counts are rebuilt from the store with batched
/// reads, so a group restored after a restart or a silo failure knows where it stands; after
/// that, nothing is polled.
/// </summary>
[CollectionAgeLimit(Minutes = 10)]
// Where the first caller is: usually the process that saves and joins the group.
[Orleans.Placement.PreferLocalPlacement]
internal sealed partial class GroupResultGrain : Grain, IGroupResultGrain
{
    // A child that finishes before its group is saved (Celery's normal order) finds no group.
    // Many children of one group finish together; deactivating at the first of them sent the
    // others' calls forwarding from activation to activation until Orleans rejected them
    // (97 of 100 in one test). So an unsaved group's activation lingers this long, then goes.
    private static readonly TimeSpan UnsavedLinger = TimeSpan.FromSeconds(30);

    // While someone waits and no child has completed for this long, the children not yet READY
    // are read from the store: a notification that was lost (its writer's silo died between the
    // store's acknowledgement and the delivery) must not leave a join waiting on a child that is
    // already done. Doubled after each look that finds nothing, so a group of slow tasks costs
    // a few batched reads a minute, not a poll.
    internal static readonly TimeSpan ReconcileFirst = TimeSpan.FromSeconds(2);
    internal static readonly TimeSpan ReconcileMax = TimeSpan.FromSeconds(60);

    private readonly IResultStore _store;
    private readonly ResultReads _reads;
    private readonly ResultGridOptions _options;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<GroupResultGrain> _logger;
    private readonly List<TaskCompletionSource> _waiters = [];
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _readyStates = new(StringComparer.Ordinal);
    private readonly List<string> _completionOrder = [];
    private readonly ResultSerializer _serializer;
    private GroupMeta? _meta;
    private int _succeeded;
    private int _failed;

    // This activation has fired (or found fired) its chord's trigger; the store's claim is what
    // makes it once across activations and silos.
    private bool _chordDone;

    // This activation holds the trigger's claim in the store: a retry after a failure goes on
    // without claiming again (the store would refuse it).
    private bool _chordClaimed;

    private IGrainTimer? _unsavedTimer;
    private IGrainTimer? _reconcileTimer;
    private TimeSpan _reconcileDelay = ReconcileFirst;
    private int _completedAtLastLook;

    public GroupResultGrain(ResultStores stores, ResultReads reads, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, ResultSerializer serializer, TimeProvider time, ILogger<GroupResultGrain> logger)
    {
        _reads = reads;
        _store = stores.Default;
        _serializer = serializer;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    private string GroupId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var meta = await StoreCall.Run(_store, _metrics, _logger, "read group", GroupId, () => _store.ReadGroupAsync(GroupId, cancellationToken));
        if (meta is not null)
        {
            await LoadAsync(meta);
        }
    }

    public Task<GroupStatus> SaveAsync(string[] taskIds, TimeSpan? expires) => SaveAsync(taskIds, expires, chord: null);

    public Task<GroupStatus> SaveChordAsync(string[] taskIds, TimeSpan? expires, ChordBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        TaskIds.Validate(body.TaskId, nameof(body));
        TaskIds.ValidateExpires(body.Expires, nameof(body));
        if (string.IsNullOrWhiteSpace(body.Name))
        {
            throw new ArgumentException("The chord body needs the name of a registered task.", nameof(body));
        }

        if (taskIds?.Contains(body.TaskId, StringComparer.Ordinal) == true)
        {
            throw new ArgumentException($"The chord body's task id '{body.TaskId}' is also a child of its header; it must be its own.", nameof(body));
        }

        return SaveAsync(taskIds!, expires, body);
    }

    private async Task<GroupStatus> SaveAsync(string[] taskIds, TimeSpan? expires, ChordBody? chord)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        TaskIds.Validate(GroupId, "groupId");
        TaskIds.ValidateExpires(expires, nameof(expires));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in taskIds)
        {
            TaskIds.Validate(id, nameof(taskIds));
            if (!seen.Add(id))
            {
                throw new ArgumentException($"Group '{GroupId}' lists task '{id}' twice; each child appears once.", nameof(taskIds));
            }
        }

        var now = _time.GetUtcNow();
        var ttl = expires == Timeout.InfiniteTimeSpan ? null : expires ?? _options.DefaultTimeToLive;
        var meta = new GroupMeta { GroupId = GroupId, TaskIds = taskIds, DateDone = now, ExpiresAt = ttl is { } t ? now + t : null, Chord = chord };
        await StoreCall.Run(_store, _metrics, _logger, "save group", GroupId, async () =>
        {
            await _store.SaveGroupAsync(meta);
            return true;
        });
        await LoadAsync(meta);
        return Status();
    }

    /// <summary>Takes the meta and counts the children already READY, in batched reads.</summary>
    private async Task LoadAsync(GroupMeta meta)
    {
        _meta = meta;
        _positions.Clear();
        _readyStates.Clear();
        _completionOrder.Clear();
        _succeeded = _failed = 0;
        for (var i = 0; i < meta.TaskIds.Length; i++)
        {
            _positions[meta.TaskIds[i]] = i;
        }

        for (var offset = 0; offset < meta.TaskIds.Length; offset += GroupReads.BatchSize)
        {
            var batch = meta.TaskIds.AsMemory(offset, Math.Min(GroupReads.BatchSize, meta.TaskIds.Length - offset)).ToArray();
            var results = await StoreCall.Run(_store, _metrics, _logger, "read", GroupId, () => ReadOffTheActivation(batch));
            foreach (var result in results)
            {
                if (result is { IsReady: true })
                {
                    // A damaged child counts as failed: its join outcome is a ResultDecodeException.
                    Complete(result.TaskId, result.EffectiveState);
                }
            }
        }

        Wake();
        await TriggerChordIfCompleteAsync();
    }

    public Task<GroupStatus> GetStatusAsync() => Task.FromResult(Status());

    public Task<string[]> GetTaskIdsAsync() => Task.FromResult(_meta?.TaskIds ?? []);

    public async Task<GroupCompletions> WaitForCompletionsAsync(int from, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.GroupJoin);
        activity?.SetTag(ResultGridActivity.GroupIdTag, GroupId).SetTag(ResultGridActivity.BackendTag, _store.Backend);
        var woken = false;
        if (_meta is not null && from >= _completionOrder.Count && _completionOrder.Count < _meta.TaskIds.Length && maxWait > TimeSpan.Zero)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(waiter);
            ScheduleReconcile();
            activity?.AddEvent(new ActivityEvent("parked"));
            try
            {
                await waiter.Task.WaitAsync(maxWait, _time, cancellationToken);
                woken = true;
                activity?.AddEvent(new ActivityEvent("woken"));
            }
            catch (TimeoutException)
            {
                // Nothing new within this slice; the caller asks again.
                activity?.AddEvent(new ActivityEvent("timed out"));
            }
            finally
            {
                _waiters.Remove(waiter);
            }
        }

        activity?.SetTag(ResultGridActivity.WokenTag, woken).SetTag(ResultGridActivity.CompletedTag, _completionOrder.Count).SetTag(ResultGridActivity.TotalTag, _meta?.TaskIds.Length ?? 0);
        var count = Math.Max(0, _completionOrder.Count - from);
        return new GroupCompletions { TaskIds = count == 0 ? [] : _completionOrder.GetRange(from, count).ToArray(), Status = Status() };
    }

    // The same read as the SDK's through the reader (IResultReaderGrain), for callers of this grain.
    public Task<TaskResult[]> ReadResultsAsync(string[] taskIds) => _reads.ReadManyAsync(taskIds, GroupId);

    public async Task OnChildReadyAsync(string taskId, string state)
    {
        if (_meta is not null && _positions.ContainsKey(taskId) && TaskStates.IsReady(state))
        {
            Complete(taskId, state);
            Wake();
            await TriggerChordIfCompleteAsync();
        }
        else if (_meta is null && _unsavedTimer is null)
        {
            // A child of a group that is not saved (yet): saving reads the children anyway, so
            // there is nothing to keep; stay a little for the child's siblings (see UnsavedLinger).
            _unsavedTimer = this.RegisterGrainTimer(
                _ =>
                {
                    _unsavedTimer?.Dispose();
                    _unsavedTimer = null;
                    if (_meta is null)
                    {
                        DeactivateOnIdle();
                    }

                    return Task.CompletedTask;
                },
                new GrainTimerCreationOptions { DueTime = UnsavedLinger, Period = Timeout.InfiniteTimeSpan });
        }
    }

    private void ScheduleReconcile()
    {
        if (_reconcileTimer is null)
        {
            _completedAtLastLook = _completionOrder.Count;
            _reconcileTimer = this.RegisterGrainTimer(ReconcileAsync, new GrainTimerCreationOptions { DueTime = _reconcileDelay, Period = Timeout.InfiniteTimeSpan });
        }
    }

    /// <summary>
    /// The safety net under the children's pushes (see <see cref="ReconcileFirst"/>): reads the
    /// children not yet counted, in batches, and counts those the store has READY.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var timer = _reconcileTimer;
        _reconcileTimer = null;
        timer?.Dispose();
        if (_meta is not { } meta || _waiters.Count == 0 || _completionOrder.Count >= meta.TaskIds.Length)
        {
            _reconcileDelay = ReconcileFirst;
            return;
        }

        if (_completionOrder.Count > _completedAtLastLook)
        {
            // Pushes are arriving: nothing suggests a lost one yet.
            _reconcileDelay = ReconcileFirst;
            ScheduleReconcile();
            return;
        }

        var found = 0;
        try
        {
            var missing = meta.TaskIds.Where(id => !_readyStates.ContainsKey(id)).ToArray();
            for (var offset = 0; offset < missing.Length; offset += GroupReads.BatchSize)
            {
                var batch = missing.AsMemory(offset, Math.Min(GroupReads.BatchSize, missing.Length - offset)).ToArray();
                var results = await StoreCall.Run(_store, _metrics, _logger, "read", GroupId, () => ReadOffTheActivation(batch));
                foreach (var result in results)
                {
                    if (result is { IsReady: true } && !_readyStates.ContainsKey(result.TaskId) && ReferenceEquals(_meta, meta))
                    {
                        Complete(result.TaskId, result.EffectiveState);
                        found++;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The next look tries again; the joiners are not the store's problem's victims.
            LogReconcileFailed(_logger, ex, GroupId);
        }

        if (found > 0)
        {
            _metrics.GroupReconciled(found);
            LogReconciled(_logger, GroupId, found);
            Wake();
            await TriggerChordIfCompleteAsync();
            _reconcileDelay = ReconcileFirst;
        }
        else
        {
            _reconcileDelay = _reconcileDelay * 2 > ReconcileMax ? ReconcileMax : _reconcileDelay * 2;
        }

        if (_waiters.Count > 0)
        {
            ScheduleReconcile();
        }
    }

    /// <summary>
    /// When every child of a chord's header is READY: claim the trigger in the store (only the
    /// first claim across all activations and silos wins), then run the body with the header's
    /// results in submission order, or store its FAILURE naming the first failed child.
    /// </summary>
    private async Task TriggerChordIfCompleteAsync()
    {
        if (_meta is not { Chord: { } chord } meta || _chordDone || _completionOrder.Count < meta.TaskIds.Length)
        {
            return;
        }

        _chordDone = true;
        try
        {
            await RunChordAsync(meta, chord);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Never the last child's writer's problem (its result is stored): try again shortly,
            // from this activation, which keeps the claim if it took it.
            _chordDone = false;
            LogChordRetry(_logger, ex, GroupId);
            this.RegisterGrainTimer(_ => TriggerChordIfCompleteAsync(), new GrainTimerCreationOptions { DueTime = TimeSpan.FromSeconds(5), Period = Timeout.InfiniteTimeSpan });
        }
    }

    private async Task RunChordAsync(GroupMeta meta, ChordBody chord)
    {
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.ChordTrigger);
        activity?.SetTag(ResultGridActivity.GroupIdTag, GroupId).SetTag(ResultGridActivity.TaskIdTag, chord.TaskId).SetTag(ResultGridActivity.BackendTag, _store.Backend);
        try
        {
            // Run first, tag after: an argument of activity?.SetTag is not evaluated when there is no span.
            var outcome = await TriggerChordAsync(meta, chord, activity);
            activity?.SetTag(ResultGridActivity.OutcomeTag, outcome);
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>The trigger itself; what came of it: <c>started</c>, <c>failed</c> (its FAILURE stored) or <c>lost</c> (another claimed it).</summary>
    private async Task<string> TriggerChordAsync(GroupMeta meta, ChordBody chord, Activity? activity)
    {
        if (_chordClaimed)
        {
            activity?.SetTag(ResultGridActivity.ClaimTag, "held");
        }
        else
        {
            _chordClaimed = await StoreCall.Run(_store, _metrics, _logger, "claim", GroupId, () => _store.TryClaimAsync("chord:" + GroupId, meta.ExpiresAt));
            activity?.SetTag(ResultGridActivity.ClaimTag, _chordClaimed ? "won" : "lost");
            if (!_chordClaimed)
            {
                return "lost";
            }
        }

        var header = new List<TaskResult>(meta.TaskIds.Length);
        for (var offset = 0; offset < meta.TaskIds.Length; offset += GroupReads.BatchSize)
        {
            var batch = meta.TaskIds.AsMemory(offset, Math.Min(GroupReads.BatchSize, meta.TaskIds.Length - offset)).ToArray();
            var read = await StoreCall.Run(_store, _metrics, _logger, "read", GroupId, () => ReadOffTheActivation(batch));
            header.AddRange(read.Select((r, i) => r ?? TaskResult.Pending(batch[i])));
        }

        string? problem = null;
        ResultPayload? args = null;
        if (header.FirstOrDefault(r => r.State != TaskStates.Success) is { } failed)
        {
            // Celery's ChordError text: "Dependency <id> raised <exception>".
            var reason = TaskStates.IsExceptionState(failed.State) && failed.Payload is not null
                ? _serializer.ReadFailure(failed).ToString()
                : failed.State;
            problem = $"Dependency {failed.TaskId} raised {reason}";
        }
        else
        {
            try
            {
                // The header's JSON as stored: decoding to JsonElement would turn Python's NaN into "NaN".
                args = _serializer.JsonList(header.Select(r => (r.TaskId, r.Payload)));
            }
            catch (Exception ex) when (ex is ResultDecodeException or ContentTypeNotAcceptedException)
            {
                problem = $"The header results of chord {GroupId} cannot be passed to its body as JSON: {ex.Message}";
            }
        }

        if (problem is null)
        {
            try
            {
                await GrainFactory.GetGrain<ITaskRunnerGrain>(0).SubmitAsync(new TaskSubmission
                {
                    TaskId = chord.TaskId, Name = chord.Name, Args = args, ParentId = GroupId, Queue = chord.Queue, Expires = chord.Expires,
                });
                LogChordTriggered(_logger, GroupId, chord.Name, chord.TaskId);
                return "started";
            }
            catch (TaskNotRegisteredException ex)
            {
                problem = ex.Message;
            }
        }

        LogChordFailed(_logger, GroupId, chord.TaskId, problem);
        await GrainFactory.GetGrain<IResultWriterGrain>(0).WriteAsync(
            new TaskResult
            {
                TaskId = chord.TaskId,
                State = TaskStates.Failure,
                Payload = ResultSerializer.SerializeFailure("ChordError", "celery.exceptions", [problem]),
                Name = chord.Name,
                ParentId = GroupId,
                Queue = chord.Queue,
            },
            chord.Expires);
        return "failed";
    }

    public async Task<bool> ForgetAsync()
    {
        var existed = await StoreCall.Run(_store, _metrics, _logger, "forget group", GroupId, () => _store.ForgetGroupAsync(GroupId));
        _meta = null;
        Wake();
        DeactivateOnIdle();
        return existed;
    }

    /// <summary>A batched store read run on the thread pool, not on this activation's scheduler (see <see cref="ResultReads.OnThreadPool"/>).</summary>
    private ValueTask<TaskResult?[]> ReadOffTheActivation(string[] taskIds) => ResultReads.OnThreadPool(_store, taskIds);

    /// <summary>Records a child's READY state; a child READY again (a FAILURE retried into SUCCESS) moves between the counts.</summary>
    private void Complete(string taskId, string state)
    {
        if (_readyStates.TryGetValue(taskId, out var previous))
        {
            if (previous == state)
            {
                return;
            }

            Count(previous, -1);
        }
        else
        {
            _completionOrder.Add(taskId);
        }

        _readyStates[taskId] = state;
        Count(state, +1);
    }

    private void Count(string state, int delta)
    {
        if (state == TaskStates.Success)
        {
            _succeeded += delta;
        }
        else
        {
            _failed += delta;
        }
    }

    private void Wake()
    {
        foreach (var waiter in _waiters.ToArray())
        {
            waiter.TrySetResult();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Chord {GroupId}: header complete, body {Name} started as task {BodyTaskId}")]
    private static partial void LogChordTriggered(ILogger logger, string groupId, string name, string bodyTaskId);

    [LoggerMessage(3, LogLevel.Warning, "Chord {GroupId}: triggering the body failed; trying again in 5 s")]
    private static partial void LogChordRetry(ILogger logger, Exception exception, string groupId);

    [LoggerMessage(4, LogLevel.Warning, "Group {GroupId}: {Count} children were READY in the store without their notification having arrived; counted now")]
    private static partial void LogReconciled(ILogger logger, string groupId, int count);

    [LoggerMessage(5, LogLevel.Warning, "Group {GroupId}: reading its missing children from the store failed; trying again later")]
    private static partial void LogReconcileFailed(ILogger logger, Exception exception, string groupId);

    [LoggerMessage(2, LogLevel.Warning, "Chord {GroupId}: body task {BodyTaskId} stored as FAILURE: {Reason}")]
    private static partial void LogChordFailed(ILogger logger, string groupId, string bodyTaskId, string reason);

    private GroupStatus Status() => _meta is null
        ? new GroupStatus { GroupId = GroupId, Exists = false }
        : new GroupStatus
        {
            GroupId = GroupId,
            Exists = !_meta.IsExpired(_time.GetUtcNow()),
            Total = _meta.TaskIds.Length,
            Completed = _completionOrder.Count,
            Succeeded = _succeeded,
            Failed = _failed,
            Chord = _meta.Chord,
        };
}
