using System.Globalization;
using System.Runtime.CompilerServices;
using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// Bulk copy in and out (<c>resultgrid migrate</c>) through the expiry buckets, the only index a
/// grain storage has: a scan walks the slots the directory lists, oldest first, each slot's
/// shards, then the forever buckets, and reads the records the ids name. The cursor is the
/// position reached, <c>slot:shard:offset</c> (<c>forever</c> for the forever buckets), so a
/// killed copy resumes there.
/// </summary>
internal sealed partial class GrainStorageResultStore
{
    private const string ForeverCursor = "forever";

    public async ValueTask<long> EstimateResultCountAsync(CancellationToken cancellationToken = default)
    {
        var buckets = (await LiveSlotsAsync()).Append((long?)null)
            .SelectMany(slot => Enumerable.Range(0, ExpiryBuckets.Shards).Select(shard => _buckets.Bucket(slot, shard)))
            .ToArray();
        var counts = new int[buckets.Length];
        await Parallel.ForAsync(0, buckets.Length, new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = cancellationToken }, async (i, _) =>
            counts[i] = await buckets[i].CountAsync());
        return counts.Sum(c => (long)c);
    }

    public async IAsyncEnumerable<string> ScanTaskIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var page = await ReadResultsAsync(cursor, ExpiryBuckets.PeekSize, cancellationToken);
            foreach (var result in page.Items)
            {
                yield return result.TaskId;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    public async ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var (entries, next) = await ListAsync(BucketKind.Result, cursor, pageSize);
        var read = await ReadEntriesAsync(ResultState, entries, cancellationToken);
        var items = new List<TaskResult>(read.Length);
        var problems = new List<TransferProblem>();
        foreach (var (entry, document) in entries.Zip(read))
        {
            // Missing: an index entry whose write failed, or a record cleared since.
            if (document is null)
            {
                continue;
            }

            var result = StoredDocument.DecodeResult(entry.Id, document);
            if (result.Problem is { } problem)
            {
                problems.Add(new TransferProblem(entry.Id, problem.Reason));
            }
            else if (!result.IsExpired(now) && FiledIn(entry.Slot, result.ExpiresAt))
            {
                items.Add(result);
            }
        }

        return new TransferPage<TaskResult>(items, next, problems);
    }

    public async ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var (entries, next) = await ListAsync(BucketKind.Group, cursor, pageSize);
        var read = await ReadEntriesAsync(GroupState, entries, cancellationToken);
        var items = new List<GroupMeta>(read.Length);
        var problems = new List<TransferProblem>();
        foreach (var (entry, document) in entries.Zip(read))
        {
            if (document is null)
            {
                continue;
            }

            try
            {
                var group = StoredDocument.DecodeGroup(entry.Id, document);
                if (!group.IsExpired(now) && FiledIn(entry.Slot, group.ExpiresAt))
                {
                    items.Add(group);
                }
            }
            catch (FormatException ex)
            {
                problems.Add(new TransferProblem(entry.Id, ex.Message));
            }
        }

        return new TransferPage<GroupMeta>(items, next, problems);
    }

    public async ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(results);
        var now = _time.GetUtcNow();
        var live = results.Where(r => !r.IsExpired(now)).ToArray();
        await _buckets.FileManyAsync(live.Select(r => (r.TaskId, r.ExpiresAt)).ToArray());
        return await ImportAsync(ResultState, live, r => r.TaskId, StoredDocument.Encode,
            (r, stored) => stored.Live(r.TaskId, now) is not null, cancellationToken);
    }

    public async ValueTask<int> ImportGroupsAsync(IReadOnlyList<GroupMeta> groups, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var now = _time.GetUtcNow();
        var live = groups.Where(g => !g.IsExpired(now)).ToArray();
        await _buckets.FileManyAsync(live.Select(g => (g.GroupId, g.ExpiresAt)).ToArray(), BucketKind.Group);
        return await ImportAsync(GroupState, live, g => g.GroupId, StoredDocument.Encode, (g, stored) =>
        {
            try
            {
                return !StoredDocument.DecodeGroup(g.GroupId, stored.Document!).IsExpired(now);
            }
            catch (FormatException)
            {
                // Never replace what cannot be read: an operator decides about it.
                return true;
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Writes each record where nothing live is stored: first with no ETag (goes in only where no
    /// state is stored); refused, the stored record is read and kept when live, replaced through
    /// its ETag when expired or cleared. Returns how many went in. The records are already filed.
    /// </summary>
    private async Task<int> ImportAsync<T>(string stateName, IReadOnlyList<T> records, Func<T, string> keyOf, Func<T, byte[]> encode, Func<T, StoredRecord, bool> isLive, CancellationToken cancellationToken)
    {
        var added = new int[records.Count];
        await Parallel.ForAsync(0, records.Count, new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var record = records[i];
            var id = GrainIdOf(keyOf(record));
            var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = encode(record) });
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _storage.WriteStateAsync(stateName, id, state, ct);
                    added[i] = 1;
                    return;
                }
                catch (InconsistentStateException) when (attempt < MaxAttempts)
                {
                    var stored = await ReadRecordAsync(stateName, id, ct);
                    if (stored.Document is not null && isLive(record, stored))
                    {
                        return;
                    }

                    state.ETag = stored.ETag;
                }
            }
        });
        return added.Sum();
    }

    /// <summary>
    /// Whether the bucket of <paramref name="slot"/> (null: forever) is the one a record expiring
    /// at <paramref name="expiresAt"/> is filed in now: a record stored again with another expiry
    /// is filed in two buckets, and a scan takes it from its current one only, so once.
    /// </summary>
    private bool FiledIn(long? slot, DateTimeOffset? expiresAt) =>
        expiresAt is { } at ? slot == _buckets.SlotOf(at) : slot is null;

    /// <summary>The slots listed in the directory whose ids may still be live (a slot over holds only expired ones), oldest first.</summary>
    private async Task<long?[]> LiveSlotsAsync()
    {
        var current = _buckets.SlotOf(_time.GetUtcNow());
        return (await _buckets.Directory.AllAsync()).Where(s => s >= current).Order().Select(s => (long?)s).ToArray();
    }

    /// <summary>
    /// Up to <paramref name="pageSize"/> filed ids of <paramref name="kind"/> after <paramref name="cursor"/>,
    /// each with its bucket's slot, and the cursor after them (null after the last bucket).
    /// </summary>
    private async Task<(List<(string Id, long? Slot)> Entries, string? Next)> ListAsync(BucketKind kind, string? cursor, int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        var (fromSlot, shard, offset) = ParseCursor(cursor);
        // Slots are taken from the cursor's on: one swept or over since is simply not there any more.
        List<long?> slots = fromSlot is null ? [] : [.. (await LiveSlotsAsync()).Where(s => s >= fromSlot)];
        if (fromSlot is not null && slots.FirstOrDefault() != fromSlot)
        {
            (shard, offset) = (0, 0);
        }

        slots.Add(null);
        var entries = new List<(string Id, long? Slot)>(pageSize);
        foreach (var slot in slots)
        {
            for (; shard < ExpiryBuckets.Shards; shard++, offset = 0)
            {
                var ids = await _buckets.Bucket(slot, shard, kind).ListAsync(offset, pageSize - entries.Count);
                entries.AddRange(ids.Select(id => (id, slot)));
                offset += ids.Length;
                if (entries.Count >= pageSize)
                {
                    return (entries, FormatCursor(slot, shard, offset));
                }
            }

            shard = 0;
        }

        return (entries, null);
    }

    private async Task<byte[]?[]> ReadEntriesAsync(string stateName, List<(string Id, long? Slot)> entries, CancellationToken cancellationToken)
    {
        var documents = new byte[]?[entries.Count];
        await Parallel.ForAsync(0, entries.Count, new ParallelOptions { MaxDegreeOfParallelism = ReadsInFlight, CancellationToken = cancellationToken }, async (i, ct) =>
            documents[i] = (await ReadRecordAsync(stateName, GrainIdOf(entries[i].Id), ct)).Document);
        return documents;
    }

    private static string FormatCursor(long? slot, int shard, int offset) => string.Create(CultureInfo.InvariantCulture,
        $"{(slot is { } s ? s.ToString(CultureInfo.InvariantCulture) : ForeverCursor)}:{shard}:{offset}");

    /// <summary>The position a cursor names: slot (null: the forever buckets; long.MinValue: the start), shard, offset.</summary>
    private static (long? Slot, int Shard, int Offset) ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return (long.MinValue, 0, 0);
        }

        var parts = cursor.Split(':');
        if (parts.Length == 3
            && (parts[0] == ForeverCursor || long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var shard) && shard < ExpiryBuckets.Shards
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return (parts[0] == ForeverCursor ? null : long.Parse(parts[0], CultureInfo.InvariantCulture), shard, offset);
        }

        throw new ArgumentException($"The cursor '{cursor}' is not a grainstorage:// cursor; one is SLOT:SHARD:OFFSET (SLOT a number or 'forever', SHARD 0-{ExpiryBuckets.Shards - 1}), as a page of this backend returned it.", nameof(cursor));
    }
}
