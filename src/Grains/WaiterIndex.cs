
namespace ResultGrid.Grains;

/// <summary>
/// Which task ids have waiters right now, spread over a fixed number of partition grains. A
/// writer asks it after a READY write and hands the result to the task's grain only when
/// someone waits, so writes to results nobody waits on never create an activation.
/// </summary>
/// <remarks>
/// Ordering makes it race-free: a waiter registers first and reads the store second; a writer
/// writes the store first and asks here second. Either the writer sees the registration, or the
/// waiter's read sees the write. Registrations expire on their own (a crashed silo's waiters
/// leave nothing behind), and carry a token so that a deactivating activation can only remove
/// its own.
/// </remarks>
public sealed class WaiterIndex
{
    /// <summary>Partitions: enough to spread load over the silos, few enough to stay activated.</summary>
    public const int Partitions = 16;

    private readonly IWaiterIndexPartitionGrain[] _partitions = new IWaiterIndexPartitionGrain[Partitions];

    public WaiterIndex(IGrainFactory grains)
    {
        for (var i = 0; i < Partitions; i++)
        {
            _partitions[i] = grains.GetGrain<IWaiterIndexPartitionGrain>(i);
        }
    }

    private IWaiterIndexPartitionGrain PartitionOf(string taskId) => _partitions[Storage.StableHash.Of(taskId) % Partitions];

    public Task RegisterAsync(string taskId, Guid token, DateTimeOffset until) => PartitionOf(taskId).RegisterAsync(taskId, token, until);

    public Task UnregisterAsync(string taskId, Guid token) => PartitionOf(taskId).UnregisterAsync(taskId, token);

    public Task<bool> HasWaitersAsync(string taskId) => PartitionOf(taskId).HasWaitersAsync(taskId);
}

[Alias("ResultGrid.IWaiterIndexPartitionGrain")]
public interface IWaiterIndexPartitionGrain : IGrainWithIntegerKey
{
    [Alias("Register")] Task RegisterAsync(string taskId, Guid token, DateTimeOffset until);
    [Alias("Unregister")] Task UnregisterAsync(string taskId, Guid token);
    [Alias("HasWaiters"), Orleans.Concurrency.ReadOnly] Task<bool> HasWaitersAsync(string taskId);
}

/// <summary>One shard of the waiter index. Synchronous methods: each runs whole on the grain's scheduler.</summary>
[KeepAlive]
internal sealed class WaiterIndexPartitionGrain(TimeProvider time) : Grain, IWaiterIndexPartitionGrain
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (Guid Token, DateTimeOffset Until)> _waiting = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(Sweep, new GrainTimerCreationOptions { DueTime = SweepInterval, Period = SweepInterval, Interleave = false });
        return Task.CompletedTask;
    }

    public Task RegisterAsync(string taskId, Guid token, DateTimeOffset until)
    {
        _waiting[taskId] = _waiting.TryGetValue(taskId, out var existing) && existing.Token == token && existing.Until > until
            ? existing
            : (token, until);
        return Task.CompletedTask;
    }

    public Task UnregisterAsync(string taskId, Guid token)
    {
        if (_waiting.TryGetValue(taskId, out var existing) && existing.Token == token)
        {
            _waiting.Remove(taskId);
        }

        return Task.CompletedTask;
    }

    public Task<bool> HasWaitersAsync(string taskId)
    {
        if (!_waiting.TryGetValue(taskId, out var entry))
        {
            return Task.FromResult(false);
        }

        if (entry.Until <= time.GetUtcNow())
        {
            _waiting.Remove(taskId);
            return Task.FromResult(false);
        }

        return Task.FromResult(true);
    }

    private Task Sweep(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var (id, entry) in _waiting)
        {
            if (entry.Until <= now)
            {
                _waiting.Remove(id);
            }
        }

        return Task.CompletedTask;
    }
}
