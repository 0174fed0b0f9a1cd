using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// The registered <see cref="IGrainStorage"/> as this backend uses it: a failure of the storage
/// itself (a database refusing a connection, a network error) reaches the caller as
/// <see cref="ResultStoreUnavailableException"/> naming the storage and the reason. Providers
/// throw their drivers' exceptions as they are, and those often cannot cross a grain call
/// (Npgsql's PostgresException has no Orleans codec: the caller would get a
/// CodecNotFoundException in its place, which says nothing about the store). The driver's
/// exception is therefore kept in the message only. The ETag refusal
/// (<see cref="InconsistentStateException"/>), which the store handles, and cancellation pass
/// through unchanged.
/// </summary>
internal sealed class GuardedGrainStorage(IGrainStorage inner, string name) : IGrainStorage
{
    public static IGrainStorage For(IGrainStorage storage, string name) =>
        storage as GuardedGrainStorage ?? new GuardedGrainStorage(storage, name);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.ReadStateAsync(stateName, grainId, grainState), "a read");

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.WriteStateAsync(stateName, grainId, grainState), "a write");

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.ClearStateAsync(stateName, grainId, grainState), "a delete");

    private async Task Guard(Task call, string operation)
    {
        try
        {
            await call;
        }
        catch (Exception ex) when (ex is not (InconsistentStateException or OperationCanceledException or ResultStoreUnavailableException))
        {
            throw new ResultStoreUnavailableException(
                $"The grain storage '{name}' failed {operation}: {ex.GetType().Name}: {ex.Message.TrimEnd('.')}. Nothing was acknowledged.");
        }
    }
}
