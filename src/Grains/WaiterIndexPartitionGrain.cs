namespace ResultGrid.Grains;

[Alias("ResultGrid.IWaiterIndexPartitionGrain")]
internal interface IWaiterIndexPartitionGrain : IGrainWithIntegerKey
{
    [Alias("Register")] Task RegisterAsync(string taskId, Guid token, DateTimeOffset until);
    [Alias("Unregister")] Task UnregisterAsync(string taskId, Guid token);
    [Alias("HasWaiters"), Orleans.Concurrency.ReadOnly, ResponseTimeout("00:00:05")] Task<bool> HasWaitersAsync(string taskId);

    /// <summary>The answer of <see cref="HasWaitersAsync(string)"/> for each id, in order: the writers' questions gathered into one call.</summary>
    [Alias("HasWaitersMany"), Orleans.Concurrency.ReadOnly, ResponseTimeout("00:00:05")] Task<bool[]> HasWaitersAsync(string[] taskIds);
}

/// <summary>One shard of the waiter index. Synchronous methods: each runs whole on the grain's scheduler.</summary>
/// <remarks>
/// Registrations live in memory only. When a partition's silo dies, the partition comes back on
/// another silo empty, while waiters parked on surviving silos still wait: a writer asking the
/// new activation would be told "nobody waits" and those waiters would sleep to the end of their
/// slice. So a partition that may have lost registrations answers "maybe" (true) for every id
/// it does not know, for as long as any lost registration could have lived. The cost is one
/// extra hand-over (and an activation that ends at once) per READY write in that window.
/// </remarks>
[KeepAlive]
// Spread over the silos at random: the index's load is spread, and a silo's death takes only its
// share of the partitions. (The default placement put all 16 on one silo in a test run.)
[Orleans.Placement.RandomPlacement]
internal sealed class WaiterIndexPartitionGrain(TimeProvider time, IClusterMembershipService membership) : Grain, IWaiterIndexPartitionGrain
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (Guid Token, DateTimeOffset Until)> _waiting = new(StringComparer.Ordinal);

    // Until then, an unknown id may have had a registration this activation never saw.
    private DateTimeOffset _unsureUntil;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A partition can only have lived before if a silo has left the cluster (died, or shut
        // down and handed its grains over); on a cluster that never lost a member this is the
        // first activation, and it knows every registration there is.
        if (membership.CurrentSnapshot.Members.Values.Any(m => m.Status is SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping))
        {
            _unsureUntil = time.GetUtcNow() + WaiterIndex.RegistrationHorizon;
        }

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

    public Task<bool> HasWaitersAsync(string taskId) => Task.FromResult(HasWaiters(taskId, time.GetUtcNow()));

    public Task<bool[]> HasWaitersAsync(string[] taskIds)
    {
        var now = time.GetUtcNow();
        var answers = new bool[taskIds.Length];
        for (var i = 0; i < taskIds.Length; i++)
        {
            answers[i] = HasWaiters(taskIds[i], now);
        }

        return Task.FromResult(answers);
    }

    private bool HasWaiters(string taskId, DateTimeOffset now)
    {
        if (!_waiting.TryGetValue(taskId, out var entry))
        {
            return now < _unsureUntil;
        }

        if (entry.Until <= now)
        {
            _waiting.Remove(taskId);
            return now < _unsureUntil;
        }

        return true;
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
