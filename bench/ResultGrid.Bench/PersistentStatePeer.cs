namespace ResultGrid.Bench;

/// <summary>
/// Peer <c>orleans-persistent-state-adonet</c>: the generic Orleans way to keep a result, a grain
/// per result whose <see cref="IPersistentState{TState}"/> is on the same registered ADO.NET
/// grain storage as <c>grainstorage://</c> (same table, same pool). Each store is a grain call
/// whose activation reads its state first (IPersistentState always does), then one
/// <c>WriteStateAsync</c> of the same document bytes grainstorage:// stores; each read is an
/// activation that reads the state and returns it. Deactivated after each call, as the result
/// path leaves no activation behind. No expiry filing, no never-replace-SUCCESS check: what
/// it does is a floor of what such a design does per result.
/// </summary>
internal sealed class PersistentStatePeer(IGrainFactory grains, byte[] document)
{
    public const string Name = "orleans-persistent-state-adonet";

    public Task<double> StoreRateAsync(int count, int inFlight) =>
        Rate.RunAsync(count, inFlight, id => grains.GetGrain<IPersistentStatePeerGrain>(id).StoreAsync(document));

    /// <summary>Stores <paramref name="count"/> results for the read rounds; their ids.</summary>
    public async Task<string[]> SeedAsync(int count, int inFlight)
    {
        var ids = Enumerable.Range(0, count).Select(_ => TaskIds.NewId()).ToArray();
        var next = -1;
        await Rate.RunAsync(count, inFlight, _ => grains.GetGrain<IPersistentStatePeerGrain>(ids[Interlocked.Increment(ref next)]).StoreAsync(document));
        return ids;
    }

    /// <summary>Reads the first <paramref name="count"/> of <paramref name="ids"/>, each through its grain; reads/s.</summary>
    public Task<double> ReadRateAsync(string[] ids, int count, int inFlight)
    {
        var next = -1;
        return Rate.RunAsync(count, inFlight, async _ =>
        {
            var id = ids[Interlocked.Increment(ref next)];
            if (await grains.GetGrain<IPersistentStatePeerGrain>(id).ReadAsync() is not { Length: > 0 })
            {
                throw new InvalidOperationException($"{Name} read {id} as missing: the peer must read what it stored.");
            }
        });
    }
}

/// <summary>The grain of <see cref="PersistentStatePeer"/>.</summary>
public interface IPersistentStatePeerGrain : IGrainWithStringKey
{
    // Immutable: not deep-copied on the local call, as ResultGrid's [Immutable] payloads are not.
    Task StoreAsync([Immutable] byte[] document);

    Task<byte[]?> ReadAsync();
}

/// <summary>The peer's state: the document bytes, as grainstorage:// keeps them.</summary>
[GenerateSerializer]
public sealed class PersistentStatePeerState
{
    [Id(0)] public byte[]? Document { get; set; }
}

internal sealed class PersistentStatePeerGrain([PersistentState("result", PersistentStatePeerGrain.StorageName)] IPersistentState<PersistentStatePeerState> state)
    : Grain, IPersistentStatePeerGrain
{
    /// <summary>The storage grainstorage://bench uses (GrainStorageBench).</summary>
    public const string StorageName = "bench";

    public async Task StoreAsync([Immutable] byte[] document)
    {
        state.State.Document = document;
        await state.WriteStateAsync();
        DeactivateOnIdle();
    }

    public Task<byte[]?> ReadAsync()
    {
        DeactivateOnIdle();
        return Task.FromResult(state.State.Document);
    }
}
