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

    public IExpiryBucketGrain Bucket(long slot, int shard) =>
        _grains.GetGrain<IExpiryBucketGrain>($"{_storage}|{slot.ToString(CultureInfo.InvariantCulture)}|{shard.ToString(CultureInfo.InvariantCulture)}");

    public IExpiryBucketGrain ForeverBucket(int shard) =>
        _grains.GetGrain<IExpiryBucketGrain>($"{_storage}|{Forever}|{shard.ToString(CultureInfo.InvariantCulture)}");

    public static int ShardOf(string taskId) => (int)(StableHash.Of(taskId) % Shards);

    /// <summary>Files <paramref name="taskId"/> under <paramref name="expiresAt"/> (null: forever); returns once the index holds it.</summary>
    public async Task FileAsync(string taskId, DateTimeOffset? expiresAt)
    {
        if (expiresAt is not { } at)
        {
            await ForeverBucket(ShardOf(taskId)).FileAsync([taskId]);
            return;
        }

        var slot = SlotOf(at);
        await Bucket(slot, ShardOf(taskId)).FileAsync([taskId]);

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
