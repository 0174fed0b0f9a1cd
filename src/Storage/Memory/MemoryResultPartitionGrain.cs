using Orleans.Concurrency;

namespace ResultGrid.Storage.Memory;

/// <summary>One shard of a memory store. Not for direct use: go through the result grains.</summary>
[Alias("ResultGrid.Storage.IMemoryResultPartitionGrain")]
internal interface IMemoryResultPartitionGrain : IGrainWithStringKey
{
    [Alias("Write")] Task<StoreWriteResult> WriteAsync(TaskResult result);
    [Alias("WriteWithHistory")] Task<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, int maxEntries);
    [Alias("ReadHistory"), ReadOnly] Task<ResultHistoryEntry[]> ReadHistoryAsync(string taskId);
    [Alias("Read"), ReadOnly] Task<TaskResult?> ReadAsync(string taskId);
    [Alias("ReadMany"), ReadOnly] Task<TaskResult?[]> ReadManyAsync(string[] taskIds);
    [Alias("Exists"), ReadOnly] Task<bool> ExistsAsync(string taskId);
    [Alias("Existence"), ReadOnly] Task<ResultExistence> GetExistenceAsync(string taskId);
    [Alias("Forget")] Task<bool> ForgetAsync(string taskId);
    [Alias("Consume")] Task<TaskResult?> ConsumeAsync(string taskId);
    [Alias("Count"), ReadOnly] Task<int> CountAsync();
    [Alias("SaveGroup")] Task SaveGroupAsync(GroupMeta group);
    [Alias("ReadGroup")] Task<GroupMeta?> ReadGroupAsync(string groupId);
    [Alias("ForgetGroup")] Task<bool> ForgetGroupAsync(string groupId);
    [Alias("Claim")] Task<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt);
    [Alias("Expire")] Task<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt);
}

/// <summary>
/// Holds its share of results in a dictionary. Every method is synchronous, so each runs whole
/// on the grain's scheduler: the never-replace-SUCCESS check and the update are one step, with
/// no read by the caller first. Kept alive (a collected partition would lose its results), and
/// swept by a grain timer so expired results free their memory without a reminder per result.
/// </summary>
[KeepAlive]
internal sealed class MemoryResultPartitionGrain : Grain, IMemoryResultPartitionGrain
{
    // Sweeping is cheap (a scan of one shard), and reads already hide expired entries, so the
    // interval only bounds how long expired memory stays allocated.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupMeta> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset?> _claims = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public MemoryResultPartitionGrain(TimeProvider time)
    {
        _time = time;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(Sweep, new GrainTimerCreationOptions { DueTime = SweepInterval, Period = SweepInterval, Interleave = false });
        return Task.CompletedTask;
    }

    public Task<StoreWriteResult> WriteAsync(TaskResult result) => Task.FromResult(Write(result, null, 0));

    public Task<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, int maxEntries) =>
        Task.FromResult(Write(result, entry, maxEntries));

    /// <summary>
    /// The conditional write; with <paramref name="entry"/>, appended to the history kept in the
    /// same entry (so it expires, is consumed and is forgotten with the result), the oldest
    /// dropped beyond <paramref name="maxEntries"/>. A refused write changes neither.
    /// </summary>
    private StoreWriteResult Write(TaskResult result, ResultHistoryEntry? entry, int maxEntries)
    {
        var existing = Live(result.TaskId);
        if (existing is { } current)
        {
            if (current.Consumed)
            {
                return new StoreWriteResult(WriteOutcome.AlreadyConsumed);
            }

            if (current.Record.State == TaskStates.Success)
            {
                return new StoreWriteResult(WriteOutcome.KeptSuccess, current.Record);
            }
        }

        _entries[result.TaskId] = new Entry(result, Consumed: false, entry is null ? null : Append(existing?.History, entry, maxEntries));
        return StoreWriteResult.Stored;
    }

    // A new array per write: entries are handed out of the grain (immutable), so a stored array is never changed.
    private static ResultHistoryEntry[] Append(ResultHistoryEntry[]? history, ResultHistoryEntry entry, int maxEntries)
    {
        var kept = history ?? [];
        var skip = Math.Max(0, kept.Length + 1 - maxEntries);
        return [.. kept.AsSpan(Math.Min(skip, kept.Length)), entry];
    }

    public Task<ResultHistoryEntry[]> ReadHistoryAsync(string taskId) => Task.FromResult(Live(taskId)?.History ?? []);

    public Task<TaskResult?> ReadAsync(string taskId)
    {
        var entry = Live(taskId);
        // The marker says when it goes, the result's own expiry, as the durable single-retrieval stores' markers do.
        return Task.FromResult(entry is null ? null : entry.Value.Consumed ? TaskResult.Consumed(taskId) with { ExpiresAt = entry.Value.Record.ExpiresAt } : entry.Value.Record);
    }

    /// <summary>Several of this partition's results in one call, each exactly as <see cref="ReadAsync"/> reads it.</summary>
    public async Task<TaskResult?[]> ReadManyAsync(string[] taskIds)
    {
        var results = new TaskResult?[taskIds.Length];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await ReadAsync(taskIds[i]);
        }

        return results;
    }

    public Task<bool> ExistsAsync(string taskId) => Task.FromResult(Live(taskId) is { Consumed: false });

    // Read before Live() would drop an expired entry: until the timer sweeps it, it says "expired".
    public Task<ResultExistence> GetExistenceAsync(string taskId) => Task.FromResult(
        !_entries.TryGetValue(taskId, out var entry) ? ResultExistence.Pending
        : entry.Record.IsExpired(_time.GetUtcNow()) ? ResultExistence.Expired
        : entry.Consumed ? ResultExistence.Consumed
        : ResultExistence.Stored);

    public Task<bool> ForgetAsync(string taskId)
    {
        var existed = Live(taskId) is { Consumed: false };
        _entries.Remove(taskId);
        return Task.FromResult(existed);
    }

    public Task<TaskResult?> ConsumeAsync(string taskId)
    {
        if (Live(taskId) is not { Consumed: false } entry || !entry.Record.IsReady)
        {
            return Task.FromResult<TaskResult?>(null);
        }

        // Keep the entry (and its expiry) as a marker, so a later read says CONSUMED, not PENDING.
        _entries[taskId] = entry with { Consumed = true };
        return Task.FromResult<TaskResult?>(entry.Record);
    }

    public Task<int> CountAsync() => Task.FromResult(_entries.Count);

    public Task SaveGroupAsync(GroupMeta group)
    {
        _groups[group.GroupId] = group;
        return Task.CompletedTask;
    }

    public Task<GroupMeta?> ReadGroupAsync(string groupId)
    {
        if (_groups.TryGetValue(groupId, out var group) && group.IsExpired(_time.GetUtcNow()))
        {
            _groups.Remove(groupId);
            group = null;
        }

        return Task.FromResult(group);
    }

    public Task<bool> ForgetGroupAsync(string groupId)
    {
        var existed = _groups.Remove(groupId, out var group) && !group.IsExpired(_time.GetUtcNow());
        return Task.FromResult(existed);
    }

    public Task<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt)
    {
        if (Live(taskId) is not { } entry)
        {
            return Task.FromResult(false);
        }

        if (entry.Record.ExpiresAt is not { } current || current > expiresAt)
        {
            _entries[taskId] = entry with { Record = entry.Record with { ExpiresAt = expiresAt } };
        }

        return Task.FromResult(true);
    }

    public Task<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt)
    {
        if (_claims.TryGetValue(key, out var until) && (until is null || until > _time.GetUtcNow()))
        {
            return Task.FromResult(false);
        }

        _claims[key] = expiresAt;
        return Task.FromResult(true);
    }

    private Entry? Live(string taskId)
    {
        if (!_entries.TryGetValue(taskId, out var entry))
        {
            return null;
        }

        if (entry.Record.IsExpired(_time.GetUtcNow()))
        {
            _entries.Remove(taskId);
            return null;
        }

        return entry;
    }

    private Task Sweep(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        List<string>? expired = null;
        foreach (var (id, entry) in _entries)
        {
            if (entry.Record.IsExpired(now))
            {
                (expired ??= []).Add(id);
            }
        }

        if (expired is not null)
        {
            foreach (var id in expired)
            {
                _entries.Remove(id);
            }
        }

        foreach (var (id, group) in _groups)
        {
            if (group.IsExpired(now))
            {
                _groups.Remove(id);
            }
        }

        foreach (var (key, until) in _claims)
        {
            if (until <= now)
            {
                _claims.Remove(key);
            }
        }

        return Task.CompletedTask;
    }

    private readonly record struct Entry(TaskResult Record, bool Consumed, ResultHistoryEntry[]? History = null);
}
