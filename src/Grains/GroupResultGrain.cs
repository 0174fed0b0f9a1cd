using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
    /// <summary>Ids per batched store read: large enough to amortise the round trip, small enough for one message.</summary>
    internal const int ReadBatch = 1000;

    private readonly IResultStore _store;
    private readonly ResultGridOptions _options;
    private readonly ResultGridMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<GroupResultGrain> _logger;
    private readonly List<TaskCompletionSource> _waiters = [];
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _readyStates = new(StringComparer.Ordinal);
    private readonly List<string> _completionOrder = [];
    private GroupMeta? _meta;
    private int _succeeded;
    private int _failed;

    public GroupResultGrain(ResultStores stores, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, TimeProvider time, ILogger<GroupResultGrain> logger)
    {
        _store = stores.Default;
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

    public async Task<GroupStatus> SaveAsync(string[] taskIds, TimeSpan? expires)
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
        var meta = new GroupMeta { GroupId = GroupId, TaskIds = taskIds, DateDone = now, ExpiresAt = ttl is { } t ? now + t : null };
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

        for (var offset = 0; offset < meta.TaskIds.Length; offset += ReadBatch)
        {
            var batch = meta.TaskIds.AsMemory(offset, Math.Min(ReadBatch, meta.TaskIds.Length - offset)).ToArray();
            var results = await StoreCall.Run(_store, _metrics, _logger, "read", GroupId, () => _store.ReadManyAsync(batch));
            foreach (var result in results)
            {
                if (result is { IsReady: true })
                {
                    Complete(result.TaskId, result.State);
                }
            }
        }

        Wake();
    }

    public Task<GroupStatus> GetStatusAsync() => Task.FromResult(Status());

    public Task<string[]> GetTaskIdsAsync() => Task.FromResult(_meta?.TaskIds ?? []);

    public async Task<GroupCompletions> WaitForCompletionsAsync(int from, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        if (_meta is not null && from >= _completionOrder.Count && _completionOrder.Count < _meta.TaskIds.Length && maxWait > TimeSpan.Zero)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(waiter);
            try
            {
                await waiter.Task.WaitAsync(maxWait, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Nothing new within this slice; the caller asks again.
            }
            finally
            {
                _waiters.Remove(waiter);
            }
        }

        var count = Math.Max(0, _completionOrder.Count - from);
        return new GroupCompletions { TaskIds = count == 0 ? [] : _completionOrder.GetRange(from, count).ToArray(), Status = Status() };
    }

    public async Task<TaskResult[]> ReadResultsAsync(string[] taskIds)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        if (taskIds.Length > ReadBatch)
        {
            throw new ArgumentException($"At most {ReadBatch} results are read at once; {taskIds.Length} were asked for.", nameof(taskIds));
        }

        var results = await StoreCall.Run(_store, _metrics, _logger, "read", GroupId, () => _store.ReadManyAsync(taskIds));
        var read = new TaskResult[taskIds.Length];
        for (var i = 0; i < read.Length; i++)
        {
            read[i] = results[i] ?? TaskResult.Pending(taskIds[i]);
            _metrics.Read(_store.Backend, read[i].State);
        }

        return read;
    }

    public Task OnChildReadyAsync(string taskId, string state)
    {
        if (_meta is not null && _positions.ContainsKey(taskId) && TaskStates.IsReady(state))
        {
            Complete(taskId, state);
            Wake();
        }
        else if (_meta is null)
        {
            // A child of a group that is not saved (yet): saving reads the children anyway.
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }

    public async Task<bool> ForgetAsync()
    {
        var existed = await StoreCall.Run(_store, _metrics, _logger, "forget group", GroupId, () => _store.ForgetGroupAsync(GroupId));
        _meta = null;
        Wake();
        DeactivateOnIdle();
        return existed;
    }

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
        };
}
