using ResultGrid.Storage;

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
/// <para>
/// A writer's question is gathered with the others asked of its partition at the same time
/// into one grain call (<see cref="StoreBatcher{TItem, TResult}"/>, window zero: a lone
/// question goes at once). Asking still comes after the store write and before the write's
/// answer, so the ordering above holds for every question in a batch.
/// </para>
/// </remarks>
internal sealed class WaiterIndex : IAsyncDisposable, IDisposable
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

    // Questions in flight per partition at once: a partition answers one call at a time, so a
    // second call only queues behind the first on its activation while the questions that
    // arrive meanwhile gather for the next. The most in one call: a batch of group reads.
    private const int QuestionsInFlight = 2;
    private const int MaxQuestionsPerCall = GroupReads.BatchSize;

    private readonly IWaiterIndexPartitionGrain[] _partitions = new IWaiterIndexPartitionGrain[Partitions];
    private readonly StoreBatcher<string, bool>[] _questions = new StoreBatcher<string, bool>[Partitions];

    public WaiterIndex(IGrainFactory grains)
    {
        for (var i = 0; i < Partitions; i++)
        {
            var partition = _partitions[i] = grains.GetGrain<IWaiterIndexPartitionGrain>(i);
            _questions[i] = new StoreBatcher<string, bool>(ids => AskAsync(partition, ids), exclusiveKey: null, _ => 1, QuestionsInFlight, TimeSpan.Zero,
                MaxQuestionsPerCall, long.MaxValue, splitOnFailure: null, store: "The waiter index");
        }
    }

    private static int IndexOf(string taskId) => (int)(Storage.StableHash.Of(taskId) % Partitions);

    private IWaiterIndexPartitionGrain PartitionOf(string taskId) => _partitions[IndexOf(taskId)];

    public Task RegisterAsync(string taskId, Guid token, DateTimeOffset until) => PartitionOf(taskId).RegisterAsync(taskId, token, until);

    public Task UnregisterAsync(string taskId, Guid token) => PartitionOf(taskId).UnregisterAsync(taskId, token);

    /// <summary>Whether <paramref name="taskId"/> may have waiters; asked together with the other questions to its partition in flight. A failed call fails every question it carried.</summary>
    public Task<bool> HasWaitersAsync(string taskId) => _questions[IndexOf(taskId)].RunAsync(taskId);

    private static async Task<bool[]> AskAsync(IWaiterIndexPartitionGrain partition, IReadOnlyList<string> taskIds) =>
        taskIds is [var lone] ? [await partition.HasWaitersAsync(lone).ConfigureAwait(false)] : await partition.HasWaitersManyAsync([.. taskIds]).ConfigureAwait(false);

    /// <summary>Takes no more questions (a host disposed synchronously): the loops end once the questions in flight have their answers.</summary>
    public void Dispose()
    {
        foreach (var questions in _questions)
        {
            _ = questions.DisposeAsync().AsTask();
        }
    }

    /// <summary>Takes no more questions, and returns once every question asked has its answer.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var questions in _questions)
        {
            await questions.DisposeAsync().ConfigureAwait(false);
        }
    }
}
