using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// The time slots of one grain storage that have filed ids (key: the storage's name), so the
/// sweep visits only slots that hold something. Not for direct use.
/// </summary>
[Alias("ResultGrid.Storage.GrainStorage.IExpirySlotDirectoryGrain")]
internal interface IExpirySlotDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Notes that ids were filed in <paramref name="slot"/>; returns once the slot is stored.</summary>
    [Alias("Register")] Task RegisterAsync(long slot);

    /// <summary>The slots before <paramref name="beforeSlot"/>, oldest first, each with its registration count.</summary>
    [Alias("Due")] Task<DueSlot[]> DueAsync(long beforeSlot);

    /// <summary>
    /// Drops the swept <paramref name="slot"/> unless it was registered again after
    /// <see cref="DueAsync"/> said <paramref name="generation"/> (a writer filed more in it: the
    /// next sweep visits it again). True when dropped.
    /// </summary>
    [Alias("Done")] Task<bool> DoneAsync(long slot, long generation);

    /// <summary>Every slot with filed ids, for a scan of the whole index.</summary>
    [Alias("All")] Task<long[]> AllAsync();
}

/// <summary>A slot due for the sweep and its registration count when it was listed.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.Storage.GrainStorage.DueSlot")]
internal readonly record struct DueSlot([property: Id(0)] long Slot, [property: Id(1)] long Generation);

/// <summary>
/// Keeps the slot set in one grain state of the same storage, written only when a slot is added
/// or dropped (registrations of a known slot only count, in memory). The counts start from the
/// activation's clock, so a count handed out by an earlier activation never matches a later one.
/// </summary>
internal sealed class ExpirySlotDirectoryGrain : Grain, IExpirySlotDirectoryGrain
{
    public const string StateName = "resultgrid.slots";

    private readonly IServiceProvider _services;
    private readonly SortedDictionary<long, long> _slots = [];
    private IGrainStorage _storage = null!;
    private string? _etag;
    private bool _recordExists;
    private long _generation = DateTime.UtcNow.Ticks;

    public ExpirySlotDirectoryGrain(IServiceProvider services)
    {
        _services = services;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storage = GuardedGrainStorage.For(_services.GetRequiredKeyedService<IGrainStorage>(this.GetPrimaryKeyString()), this.GetPrimaryKeyString());
        var state = new GrainState<GrainStorageRecord>();
        await _storage.ReadStateAsync(StateName, this.GetGrainId(), state, cancellationToken);
        Merge(state);
    }

    public async Task RegisterAsync(long slot)
    {
        var known = _slots.ContainsKey(slot);
        _slots[slot] = ++_generation;
        if (!known)
        {
            await WriteAsync();
        }
    }

    public async Task<DueSlot[]> DueAsync(long beforeSlot)
    {
        await RefreshAsync();
        return _slots.TakeWhile(s => s.Key < beforeSlot).Select(s => new DueSlot(s.Key, s.Value)).ToArray();
    }

    public async Task<bool> DoneAsync(long slot, long generation)
    {
        if (!_slots.TryGetValue(slot, out var current) || current != generation)
        {
            return false;
        }

        _slots.Remove(slot);
        await WriteAsync();
        return true;
    }

    public async Task<long[]> AllAsync()
    {
        await RefreshAsync();
        return _slots.Keys.ToArray();
    }

    /// <summary>
    /// Takes in the slots another writer of the same storage noted since this activation read it
    /// (a silo of another cluster: resultgrid migrate's private one), so the sweep and the scan
    /// see them without waiting for this activation's next write. One read a sweep.
    /// </summary>
    private async Task RefreshAsync()
    {
        var stored = new GrainState<GrainStorageRecord>();
        await _storage.ReadStateAsync(StateName, this.GetGrainId(), stored);
        if (stored.ETag == _etag)
        {
            return;
        }

        // What this activation holds beyond the stored set is written by its next write.
        Merge(stored);
    }

    private void Merge(GrainState<GrainStorageRecord> stored)
    {
        if (stored.RecordExists && stored.State?.Document is { } document)
        {
            foreach (var slot in StoredDocument.DecodeIds("expiry slot directory", document))
            {
                _slots.TryAdd(long.Parse(slot, System.Globalization.CultureInfo.InvariantCulture), ++_generation);
            }
        }

        _etag = stored.ETag;
        _recordExists = stored.RecordExists;
    }

    private async Task WriteAsync()
    {
        while (true)
        {
            var ids = _slots.Keys.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.EncodeIds(ids) }) { ETag = _etag, RecordExists = _recordExists };
            try
            {
                await _storage.WriteStateAsync(StateName, this.GetGrainId(), state);
                _etag = state.ETag;
                _recordExists = state.RecordExists;
                return;
            }
            catch (InconsistentStateException)
            {
                // Another activation wrote the directory (a duplicate after a silo failure, or a
                // silo of another cluster on the same storage): keep the union of both and write
                // it over the newer ETag, as often as the storage refuses (each refusal is another
                // writer's write that went in).
                var stored = new GrainState<GrainStorageRecord>();
                await _storage.ReadStateAsync(StateName, this.GetGrainId(), stored);
                Merge(stored);
            }
        }
    }
}
