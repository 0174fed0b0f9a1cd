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
    private readonly Questions[] _questions = new Questions[Partitions];

    public WaiterIndex(IGrainFactory grains)
    {
        for (var i = 0; i < Partitions; i++)
        {
            _partitions[i] = grains.GetGrain<IWaiterIndexPartitionGrain>(i);
            _questions[i] = new Questions(_partitions[i]);
        }
    }

    private static int PartitionIndexOf(string taskId) => (int)(Storage.StableHash.Of(taskId) % Partitions);

    private IWaiterIndexPartitionGrain PartitionOf(string taskId) => _partitions[PartitionIndexOf(taskId)];

    public Task RegisterAsync(string taskId, Guid token, DateTimeOffset until) => PartitionOf(taskId).RegisterAsync(taskId, token, until);

    public Task UnregisterAsync(string taskId, Guid token) => PartitionOf(taskId).UnregisterAsync(taskId, token);

    /// <summary>
    /// Whether <paramref name="taskId"/> may have waiters. Asked after every READY write, so the
    /// questions to one partition are gathered: at most one call per partition is out from this
    /// silo, and the ids asked meanwhile go together in the next one (a write alone is asked at
    /// once). A failed call fails every question in it; the notifier then hands the results over.
    /// </summary>
    public async Task<bool> HasWaitersAsync(string taskId)
    {
        var (batch, index) = _questions[PartitionIndexOf(taskId)].Ask(taskId);
        return (await batch.Answers.Task.ConfigureAwait(false))[index];
    }

    /// <summary>
    /// Whether each of <paramref name="taskIds"/> may have waiters (writes stored together): the
    /// ids go into their partitions' gathered questions at once, one wait per partition instead
    /// of one per id. Null for the ids of a partition that could not be asked, and the failure of
    /// the first such partition, for the caller to log.
    /// </summary>
    public async Task<(bool?[] Answers, Exception? Failure)> HasWaitersManyAsync(IReadOnlyList<string> taskIds)
    {
        var byPartition = new List<int>?[Partitions];
        for (var i = 0; i < taskIds.Count; i++)
        {
            (byPartition[PartitionIndexOf(taskIds[i])] ??= []).Add(i);
        }

        var answers = new bool?[taskIds.Count];
        Exception? failure = null;
        var asked = new List<(List<int> Positions, Batch Batch, int Start)>();
        for (var p = 0; p < Partitions; p++)
        {
            if (byPartition[p] is { } positions)
            {
                var (batch, start) = _questions[p].Ask(positions.ConvertAll(i => taskIds[i]));
                asked.Add((positions, batch, start));
            }
        }

        foreach (var (positions, batch, start) in asked)
        {
            try
            {
                var known = await batch.Answers.Task.ConfigureAwait(false);
                for (var k = 0; k < positions.Count; k++)
                {
                    answers[positions[k]] = known[start + k];
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Left null: the caller hands these results over, as for a single question that failed.
                failure ??= ex;
            }
        }

        return (answers, failure);
    }

    /// <summary>One partition's questions from this silo: the batch being gathered and whether a call is out.</summary>
    private sealed class Questions(IWaiterIndexPartitionGrain partition)
    {
        private readonly Lock _lock = new();
        private Batch _gathering = new();
        private bool _calling;

        public (Batch Batch, int Index) Ask(string taskId) => Ask([taskId]);

        /// <summary>Adds <paramref name="taskIds"/> to the batch being gathered; their answers start at the index returned.</summary>
        public (Batch Batch, int Index) Ask(List<string> taskIds)
        {
            Batch batch;
            int index;
            bool call;
            lock (_lock)
            {
                batch = _gathering;
                index = batch.Ids.Count;
                batch.Ids.AddRange(taskIds);
                call = !_calling;
                _calling = true;
            }

            if (call)
            {
                _ = CallAsync();
            }

            return (batch, index);
        }

        // Sends the gathered batch, then the one gathered while it was out, until none is left.
        private async Task CallAsync()
        {
            while (true)
            {
                Batch batch;
                lock (_lock)
                {
                    if (_gathering.Ids.Count == 0)
                    {
                        _calling = false;
                        return;
                    }

                    batch = _gathering;
                    _gathering = new Batch();
                }

                try
                {
                    // One id alone takes the single call, which silos of an older version answer too.
                    batch.Answers.SetResult(batch.Ids.Count == 1
                        ? [await partition.HasWaitersAsync(batch.Ids[0]).ConfigureAwait(false)]
                        : await partition.HasWaitersAsync([.. batch.Ids]).ConfigureAwait(false));
                }
                catch (Exception ex)
                {
                    batch.Answers.SetException(ex);
                }
            }
        }
    }

    private sealed class Batch
    {
        public List<string> Ids { get; } = [];

        // Continuations run on the thread pool: the writers resumed by one answer must not hold up the next call.
        public TaskCompletionSource<bool[]> Answers { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
