using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// The ids of the results of one grain storage that expire in one time slot (or are kept
/// forever), one shard of them: the index the sweep and the migration scan walk, because a grain
/// storage can neither list its states nor expire them. Key: <c>storage|slot|shard</c>
/// (<see cref="ExpiryBuckets"/>). Not for direct use.
/// </summary>
[Alias("ResultGrid.Storage.GrainStorage.IExpiryBucketGrain")]
internal interface IExpiryBucketGrain : IGrainWithStringKey
{
    /// <summary>Files the ids; returns once the bucket's state holding them is stored.</summary>
    [Alias("File")] Task FileAsync(string[] ids);

    /// <summary>Up to <paramref name="limit"/> of the filed ids, oldest filed first.</summary>
    [Alias("Peek")] Task<string[]> PeekAsync(int limit);

    /// <summary>Drops the ids (after the sweep cleared them); returns how many are left.</summary>
    [Alias("Remove")] Task<int> RemoveAsync(string[] ids);

    /// <summary>
    /// Up to <paramref name="limit"/> ids from position <paramref name="offset"/> in filing order,
    /// for the migration's scan (a cursor holds the position). Ids are only appended, except by the
    /// sweep in slots already over, whose ids are expired or filed again in a later slot.
    /// </summary>
    [Alias("List")] Task<string[]> ListAsync(int offset, int limit);

    /// <summary>How many ids are filed.</summary>
    [Alias("Count")] Task<int> CountAsync();
}

/// <summary>
/// Holds its ids in memory and in one grain state of the same storage. Reentrant, with group
/// commit: calls that arrive while a write is out are stored together by the next one, so a
/// burst of 100,000 results costs a few hundred writes of each bucket, not 100,000.
/// </summary>
[Reentrant]
internal sealed class ExpiryBucketGrain : Grain, IExpiryBucketGrain
{
    public const string StateName = "resultgrid.bucket";

    private readonly IServiceProvider _services;
    private readonly List<string> _order = [];
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private IGrainStorage _storage = null!;
    private string? _etag;
    private bool _recordExists;
    private long _version;
    private long _stored;
    private Task? _writing;

    public ExpiryBucketGrain(IServiceProvider services)
    {
        _services = services;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var storageName = this.GetPrimaryKeyString().Split('|', 2)[0];
        _storage = GuardedGrainStorage.For(_services.GetRequiredKeyedService<IGrainStorage>(storageName), storageName);
        var state = new GrainState<GrainStorageRecord>();
        await _storage.ReadStateAsync(StateName, this.GetGrainId(), state, cancellationToken);
        _etag = state.ETag;
        _recordExists = state.RecordExists;
        if (state.RecordExists && state.State?.Document is { } document)
        {
            Add(StoredDocument.DecodeIds("expiry bucket " + this.GetPrimaryKeyString(), document));
        }
    }

    public async Task FileAsync(string[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        Add(ids);
        // Even when every id was there already: it may be held only in memory by a write still out.
        await StoredAsync(_version);
    }

    public Task<string[]> PeekAsync(int limit) => Task.FromResult(_order.Take(limit).ToArray());

    public Task<string[]> ListAsync(int offset, int limit) => Task.FromResult(_order.Skip(offset).Take(limit).ToArray());

    public Task<int> CountAsync() => Task.FromResult(_order.Count);

    public async Task<int> RemoveAsync(string[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var removed = false;
        foreach (var id in ids)
        {
            removed |= _ids.Remove(id);
        }

        if (removed)
        {
            _order.RemoveAll(id => !_ids.Contains(id));
            _version++;
            await StoredAsync(_version);
        }

        if (_ids.Count == 0)
        {
            DeactivateOnIdle();
        }

        return _ids.Count;
    }

    private void Add(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            if (_ids.Add(id))
            {
                _order.Add(id);
                _version++;
            }
        }
    }

    /// <summary>Waits until a write that includes change <paramref name="version"/> is stored, starting one when none is out.</summary>
    private async Task StoredAsync(long version)
    {
        while (_stored < version)
        {
            await (_writing ??= WriteAsync());
        }
    }

    private async Task WriteAsync()
    {
        // Never complete synchronously: the caller stores this task in _writing first.
        await Task.Yield();
        try
        {
            var version = _version;
            var state = new GrainState<GrainStorageRecord>(new GrainStorageRecord { Document = StoredDocument.EncodeIds(_order) }) { ETag = _etag, RecordExists = _recordExists };
            try
            {
                if (_order.Count == 0)
                {
                    if (_recordExists)
                    {
                        await _storage.ClearStateAsync(StateName, this.GetGrainId(), state);
                    }
                }
                else
                {
                    await _storage.WriteStateAsync(StateName, this.GetGrainId(), state);
                }
            }
            catch (InconsistentStateException)
            {
                // Another activation wrote this bucket (a duplicate after a silo failure, or a silo of
                // another cluster on the same storage: resultgrid migrate's private one): take its
                // ids in too and write again (the caller's loop), so that neither one's ids are lost.
                var stored = new GrainState<GrainStorageRecord>();
                await _storage.ReadStateAsync(StateName, this.GetGrainId(), stored);
                _etag = stored.ETag;
                _recordExists = stored.RecordExists;
                if (stored.RecordExists && stored.State?.Document is { } document)
                {
                    Add(StoredDocument.DecodeIds("expiry bucket " + this.GetPrimaryKeyString(), document));
                }

                return;
            }

            _etag = state.ETag;
            _recordExists = state.RecordExists;
            _stored = version;
        }
        finally
        {
            _writing = null;
        }
    }
}
