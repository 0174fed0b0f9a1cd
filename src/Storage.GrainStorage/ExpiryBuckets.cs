using System.Collections.Concurrent;
using System.Globalization;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// Where a result's id is filed: the bucket of its expiry's time slot (or the forever bucket),
/// one of <see cref="Shards"/> by a stable hash of the id, and the slot noted in the directory.
/// A fixed number of grains per slot and no reminder of their own: the one sweep reminder
/// (ResultSweeperGrain) walks them.
/// </summary>
internal sealed class ExpiryBuckets
{
    /// <summary>The kinds of record filed, each in buckets of its own: results, saved groups, chord claims.</summary>
    public static readonly BucketKind[] Kinds = [BucketKind.Result, BucketKind.Group, BucketKind.Claim];

    /// <summary>Buckets per slot: spreads a burst of writes over this many grains and states.</summary>
    public const int Shards = 16;

    /// <summary>Ids a sweep batch takes from a bucket at once.</summary>
    public const int PeekSize = 500;

    public const string Forever = "forever";

    // Slots this silo has noted in the directory, so a burst of writes into one slot asks it
    // once. Bounded: dropped whole past the limit (a lost entry costs one directory call).
    private const int RegisteredLimit = 10_000;

    private readonly IGrainFactory _grains;
    private readonly string _storage;
    private readonly long _slotSeconds;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<long, bool> _registered = new();

    public ExpiryBuckets(IGrainFactory grains, string storage, TimeSpan slot, TimeProvider time)
    {
        _grains = grains;
        _storage = storage;
        _slotSeconds = (long)slot.TotalSeconds;
        _time = time;
        Directory = grains.GetGrain<IExpirySlotDirectoryGrain>(storage);
    }

    public IExpirySlotDirectoryGrain Directory { get; }

    public long SlotOf(DateTimeOffset at) => Math.DivRem(at.ToUnixTimeSeconds(), _slotSeconds, out var rem) - (rem < 0 ? 1 : 0);

    public DateTimeOffset StartOf(long slot) => DateTimeOffset.FromUnixTimeSeconds(slot * _slotSeconds);

    /// <summary>
    /// The bucket of <paramref name="slot"/> (null: forever). Results keep the key they had before
    /// groups and claims were filed (<c>storage|slot|shard</c>), so buckets stored by an earlier
    /// version are read as they are; groups and claims add a suffix (<c>|g</c>, <c>|c</c>).
    /// </summary>
    public IExpiryBucketGrain Bucket(long? slot, int shard, BucketKind kind = BucketKind.Result) =>
        _grains.GetGrain<IExpiryBucketGrain>(string.Concat(
            _storage, "|", slot is { } s ? s.ToString(CultureInfo.InvariantCulture) : Forever, "|", shard.ToString(CultureInfo.InvariantCulture),
            kind switch { BucketKind.Group => "|g", BucketKind.Claim => "|c", _ => "" }));

    public IExpiryBucketGrain ForeverBucket(int shard, BucketKind kind = BucketKind.Result) => Bucket(null, shard, kind);

    public static int ShardOf(string taskId) => (int)(StableHash.Of(taskId) % Shards);

    /// <summary>Files <paramref name="taskId"/> under <paramref name="expiresAt"/> (null: forever); returns once the index holds it.</summary>
    public Task FileAsync(string taskId, DateTimeOffset? expiresAt, BucketKind kind = BucketKind.Result) =>
        FileManyAsync([(taskId, expiresAt)], kind);

    /// <summary>
    /// Files many ids at once (an import's page): one call per bucket they fall in, and one
    /// directory note per slot; returns once the index holds them all.
    /// </summary>
    public async Task FileManyAsync(IReadOnlyCollection<(string Id, DateTimeOffset? ExpiresAt)> entries, BucketKind kind = BucketKind.Result)
    {
        var byBucket = entries.GroupBy(e => (Slot: e.ExpiresAt is { } at ? SlotOf(at) : (long?)null, Shard: ShardOf(e.Id)));
        await Task.WhenAll(byBucket.Select(b => Bucket(b.Key.Slot, b.Key.Shard, kind).FileAsync(b.Select(e => e.Id).ToArray())));
        foreach (var slot in byBucket.Select(b => b.Key.Slot).OfType<long>().Distinct())
        {
            await RegisterAsync(slot);
        }
    }

    private async Task RegisterAsync(long slot)
    {
        // Noted after the id is filed, so a sweep that lists the slot before this note cannot
        // drop it (the note changes its count). A slot already over at this silo's clock is noted
        // every time: the sweep may be at it.
        var future = StartOf(slot + 1) > _time.GetUtcNow();
        if (!future || !_registered.ContainsKey(slot))
        {
            await Directory.RegisterAsync(slot);
            if (future)
            {
                if (_registered.Count >= RegisteredLimit)
                {
                    _registered.Clear();
                }

                _registered[slot] = true;
            }
        }
    }
}

/// <summary>What a bucket's ids name: which grain state (result, group, claim) the sweep and the scan read.</summary>
internal enum BucketKind
{
    Result,
    Group,
    Claim,
}
