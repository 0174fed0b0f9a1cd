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
internal sealed class WaiterIndex
{
    /// <summary>Partitions: enough to spread load over the silos, few enough to stay activated.</summary>
    public const int Partitions = 16;

    /// <summary>The longest a wait call parks in a result grain; the SDK calls again for longer waits.</summary>
    public static readonly TimeSpan MaxPark = TimeSpan.FromSeconds(25);

    /// <summary>
    /// How long a waiter registration outlives its wait call: covers the client's next call of a
    /// longer wait, so the index does not flicker between slices.
    /// </summary>
    public static readonly TimeSpan RegistrationSlack = TimeSpan.FromSeconds(5);

    /// <summary>The longest any registration lives: what a partition that lost its state may have lost.</summary>
    public static readonly TimeSpan RegistrationHorizon = MaxPark + RegistrationSlack;

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
