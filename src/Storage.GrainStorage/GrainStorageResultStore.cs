using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// Results, groups and claims as grain state in one Orleans <see cref="IGrainStorage"/>, each
/// record its own state (grain type <c>resultgrid</c>, the task id as key, one state name per
/// kind). Every rule is kept through the storage's ETag (optimistic concurrency), the one
/// atomic step any grain storage offers: a write goes out with the ETag this silo last saw
/// (none for a record it never wrote), and only when the storage refuses it
/// (<see cref="InconsistentStateException"/>) is the record read, judged (a live SUCCESS is kept)
/// and written again with the read ETag. So the common write (a new id, or this silo's own
/// STARTED followed by its SUCCESS) is one round trip with no read first.
/// </summary>
internal sealed partial class GrainStorageResultStore : IResultStore, IExpiredResultSweep, IResultTransfer, IResultScan
{
    /// <summary>The grain type of every record's grain id (a storage keys state by grain id and state name).</summary>
    public const string GrainType = "resultgrid";

    public const string ResultState = "resultgrid.result";
    public const string GroupState = "resultgrid.group";
    public const string ClaimState = "resultgrid.claim";

    // Each refusal means another writer's write went in, so the loop always makes progress; the
    // bound only stops a storage that refuses every write (a broken ETag scheme) from spinning.
    private const int MaxAttempts = 200;

    // ETags this silo saw last, per task id, for results it stored in a state other than
    // SUCCESS: the next write of that id (STARTED -> SUCCESS from the same worker) goes straight
    // in with it. A stale one only costs the refusal path. Bounded: past the limit the cache is
    // dropped whole (a lost entry costs one read, never a wrong answer).
    private const int EtagCacheLimit = 100_000;

    internal static int ReadsInFlight = 32;

    private readonly IGrainStorage _storage;
    private readonly string _name;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _etags = new(StringComparer.Ordinal);
    private readonly ExpiryBuckets _buckets;

    public GrainStorageResultStore(IGrainStorage storage, string name, IGrainFactory grains, TimeSpan slot, TimeProvider time, ILogger logger)
    {
        _storage = GuardedGrainStorage.For(storage, name);
        _name = name;
        _time = time;
        _logger = logger;
        _buckets = new ExpiryBuckets(grains, name, slot, time);
    }

    public string Backend => "grainstorage";

    public bool SingleRetrieval => false;

    /// <summary>The storage's name on the silo, for messages.</summary>
    public string StorageName => _name;

    public async ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Filed before it is written: an index entry whose write failed is dropped by the sweep,
        // a stored result missing from the index would never be swept.
        await _buckets.FileAsync(result.TaskId, result.ExpiresAt);
        var id = GrainIdOf(result.TaskId);
        var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.Encode(result) })
        {
            ETag = _etags.TryGetValue(result.TaskId, out var known) ? known : null,
        };

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _storage.WriteStateAsync(ResultState, id, state, cancellationToken);
                Remember(result.TaskId, result.State == TaskStates.Success ? null : state.ETag);
                return StoreWriteResult.Stored;
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                var stored = await ReadRecordAsync(ResultState, id, cancellationToken);
                if (stored.Live(result.TaskId, _time.GetUtcNow()) is { State: TaskStates.Success, Problem: null } success)
                {
                    _etags.TryRemove(result.TaskId, out _);
                    return new StoreWriteResult(WriteOutcome.KeptSuccess, success);
                }

                state.ETag = stored.ETag;
                LogConflict(_logger, _name, result.TaskId, attempt);
            }
        }
    }

    public async ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default) =>
        (await ReadRecordAsync(ResultState, GrainIdOf(taskId), cancellationToken)).Live(taskId, _time.GetUtcNow());

    /// <summary>
    /// One read per id (a grain storage reads one state at a time), at most
    /// <see cref="ReadsInFlight"/> in flight: more only queue on the storage's connection pool.
    /// </summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var results = new TaskResult?[taskIds.Count];
        await Parallel.ForAsync(0, taskIds.Count, new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = cancellationToken }, async (i, ct) =>
            results[i] = await ReadAsync(taskIds[i], ct));
        return results;
    }

    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        await ReadAsync(taskId, cancellationToken) is not null;

    public async ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var stored = await ReadRecordAsync(ResultState, GrainIdOf(taskId), cancellationToken);
        return stored.Document is null ? ResultExistence.Pending
            : stored.Live(taskId, _time.GetUtcNow()) is null ? ResultExistence.Expired
            : ResultExistence.Stored;
    }

    public async ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        _etags.TryRemove(taskId, out _);
        return await ClearAsync(ResultState, GrainIdOf(taskId), stored => stored.Live(taskId, _time.GetUtcNow()) is not null, cancellationToken);
    }

    public async ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        // Filed before it is written, as a result is: the index the sweep and the migration walk.
        await _buckets.FileAsync(group.GroupId, group.ExpiresAt, BucketKind.Group);
        var id = GrainIdOf(group.GroupId);
        var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.Encode(group) });
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _storage.WriteStateAsync(GroupState, id, state, cancellationToken);
                return;
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                // A save replaces any earlier save: only the ETag is needed.
                state.ETag = (await ReadRecordAsync(GroupState, id, cancellationToken)).ETag;
            }
        }
    }

    public async ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var stored = await ReadRecordAsync(GroupState, GrainIdOf(groupId), cancellationToken);
        if (stored.Document is null)
        {
            return null;
        }

        var group = StoredDocument.DecodeGroup(groupId, stored.Document);
        return group.IsExpired(_time.GetUtcNow()) ? null : group;
    }

    public async ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        await ClearAsync(GroupState, GrainIdOf(groupId), stored =>
        {
            try
            {
                return !StoredDocument.DecodeGroup(groupId, stored.Document!).IsExpired(_time.GetUtcNow());
            }
            catch (FormatException)
            {
                return true;
            }
        }, cancellationToken);

    public async ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var id = GrainIdOf(taskId);
        for (var attempt = 1; ; attempt++)
        {
            var stored = await ReadRecordAsync(ResultState, id, cancellationToken);
            if (stored.Live(taskId, _time.GetUtcNow()) is not { Problem: null } current)
            {
                return false;
            }

            if (current.ExpiresAt is { } at && at <= expiresAt)
            {
                return true;
            }

            await _buckets.FileAsync(taskId, expiresAt);
            var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.Encode(current with { ExpiresAt = expiresAt }) }) { ETag = stored.ETag };
            try
            {
                await _storage.WriteStateAsync(ResultState, id, state, cancellationToken);
                Remember(taskId, current.State == TaskStates.Success ? null : state.ETag);
                return true;
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                // Written meanwhile: judge the new record.
            }
        }
    }

    public async ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        if (expiresAt is not null)
        {
            // Filed for the sweep; a claim held forever is never swept, so needs no index.
            await _buckets.FileAsync(key, expiresAt, BucketKind.Claim);
        }

        var id = GrainIdOf(key);
        var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.EncodeClaim(expiresAt) });
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // First writer wins: a write without an ETag goes in only where no claim is stored.
                await _storage.WriteStateAsync(ClaimState, id, state, cancellationToken);
                return true;
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                var stored = await ReadRecordAsync(ClaimState, id, cancellationToken);
                if (stored.Document is not null && (StoredDocument.ClaimExpiry(stored.Document) is not { } until || until > _time.GetUtcNow()))
                {
                    return false;
                }

                // Lapsed (or cleared): take it over, through its ETag, so only one caller does.
                state.ETag = stored.ETag;
            }
        }
    }

    /// <summary>
    /// Clears, in bounded batches, the results, groups and chord claims filed in the slots that
    /// ended a slot ago or more (the grace keeps a writer whose clock is behind from filing in a
    /// slot being swept), slot by slot, shard by shard; a record stored again since with a later
    /// expiry is left (it is filed in its new slot). Records kept forever sit in their own
    /// buckets, never swept. <paramref name="limit"/> bounds the records of all three kinds
    /// cleared in one call, and so does the count returned.
    /// </summary>
    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var deleted = 0;
        foreach (var due in await _buckets.Directory.DueAsync(_buckets.SlotOf(now) - 1))
        {
            foreach (var kind in ExpiryBuckets.Kinds)
            {
                for (var shard = 0; shard < ExpiryBuckets.Shards; shard++)
                {
                    var bucket = _buckets.Bucket(due.Slot, shard, kind);
                    while (true)
                    {
                        var ids = await bucket.PeekAsync(Math.Min(ExpiryBuckets.PeekSize, limit - deleted));
                        if (ids.Length == 0)
                        {
                            break;
                        }

                        var cleared = new int[ids.Length];
                        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = cancellationToken }, async (i, ct) =>
                            cleared[i] = await ClearIfExpiredAsync(kind, ids[i], now, ct) ? 1 : 0);
                        deleted += cleared.Sum();
                        await bucket.RemoveAsync(ids);
                        if (deleted >= limit)
                        {
                            return deleted;
                        }
                    }
                }
            }

            await _buckets.Directory.DoneAsync(due.Slot, due.Generation);
        }

        return deleted;
    }

    /// <summary>The start of the oldest slot that may still hold expired results; null when none does.</summary>
    public async ValueTask<DateTimeOffset?> OldestExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var due = await _buckets.Directory.DueAsync(_buckets.SlotOf(now) + 1);
        return due.Length == 0 ? null : _buckets.StartOf(due[0].Slot);
    }

    /// <summary>Clears the record of <paramref name="kind"/> under <paramref name="key"/> if it has expired at <paramref name="now"/>, through its ETag.</summary>
    private async Task<bool> ClearIfExpiredAsync(BucketKind kind, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var stateName = StateOf(kind);
        var id = GrainIdOf(key);
        for (var attempt = 1; ; attempt++)
        {
            var stored = await ReadRecordAsync(stateName, id, cancellationToken);
            if (stored.Document is null || !Expired(kind, key, stored.Document, now))
            {
                return false;
            }

            try
            {
                await _storage.ClearStateAsync(stateName, id, new GrainState<GrainStorageRecord>(new GrainStorageRecord()) { ETag = stored.ETag, RecordExists = true }, cancellationToken);
                if (kind == BucketKind.Result)
                {
                    _etags.TryRemove(key, out _);
                }

                return true;
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                // Written meanwhile: judge the new record.
            }
        }
    }

    /// <summary>Whether a stored document has expired; one that cannot be read never has (it is kept for an operator to see).</summary>
    private static bool Expired(BucketKind kind, string key, byte[] document, DateTimeOffset now)
    {
        switch (kind)
        {
            case BucketKind.Result:
                return StoredDocument.DecodeResult(key, document).IsExpired(now);
            case BucketKind.Group:
                try
                {
                    return StoredDocument.DecodeGroup(key, document).IsExpired(now);
                }
                catch (FormatException)
                {
                    return false;
                }

            default:
                return StoredDocument.ClaimExpiry(document) is { } until && until <= now;
        }
    }

    private static string StateOf(BucketKind kind) => kind switch
    {
        BucketKind.Group => GroupState,
        BucketKind.Claim => ClaimState,
        _ => ResultState,
    };

    /// <summary>Reads one record; <see cref="StoredRecord.Document"/> is null where none is stored.</summary>
    private async Task<StoredRecord> ReadRecordAsync(string stateName, GrainId id, CancellationToken cancellationToken)
    {
        var state = new GrainState<GrainStorageRecord>();
        await _storage.ReadStateAsync(stateName, id, state, cancellationToken);
        return new StoredRecord(state.RecordExists ? state.State?.Document : null, state.ETag);
    }

    /// <summary>Clears a record through its ETag; true when <paramref name="wasLive"/> said the cleared record was live.</summary>
    private async Task<bool> ClearAsync(string stateName, GrainId id, Func<StoredRecord, bool> wasLive, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var stored = await ReadRecordAsync(stateName, id, cancellationToken);
            if (stored.Document is null)
            {
                return false;
            }

            var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord()) { ETag = stored.ETag, RecordExists = true };
            try
            {
                await _storage.ClearStateAsync(stateName, id, state, cancellationToken);
                return wasLive(stored);
            }
            catch (InconsistentStateException) when (attempt < MaxAttempts)
            {
                // Written meanwhile: clear what is there now.
            }
        }
    }

    private void Remember(string taskId, string? etag)
    {
        if (etag is null)
        {
            _etags.TryRemove(taskId, out _);
            return;
        }

        if (_etags.Count >= EtagCacheLimit)
        {
            _etags.Clear();
        }

        _etags[taskId] = etag;
    }

    private static GrainId GrainIdOf(string key) => GrainId.Create(GrainType, key);

    [LoggerMessage(1, LogLevel.Debug, "Grain storage {Storage}: the write of {TaskId} met a newer record (attempt {Attempt}); read it and judged again")]
    private static partial void LogConflict(ILogger logger, string storage, string taskId, int attempt);

    /// <summary>A record as read: its document (null when none is stored) and the ETag to write over it with.</summary>
    private readonly record struct StoredRecord(byte[]? Document, string? ETag)
    {
        /// <summary>The stored result unless there is none or it has expired (never returned after its expiry, swept or not).</summary>
        public TaskResult? Live(string taskId, DateTimeOffset now)
        {
            if (Document is null)
            {
                return null;
            }

            var result = StoredDocument.DecodeResult(taskId, Document);
            return result.IsExpired(now) ? null : result;
        }
    }
}
