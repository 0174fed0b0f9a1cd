using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>
/// The rendezvous for one task's result, keyed by task id. Writers and every waiter reach the
/// same activation, so a write wakes waiters without pub/sub or polling.
/// </summary>
[Alias("ResultGrid.ITaskResultGrain")]
public interface ITaskResultGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores a state change with one conditional store write (a stored SUCCESS is never
    /// replaced) and wakes waiters. Returns only after the store has acknowledged it.
    /// </summary>
    /// <param name="result">The new state; <see cref="TaskResult.DateDone"/> and <see cref="TaskResult.ExpiresAt"/> are set by the grain.</param>
    /// <param name="expires">Time to live from now; null for the configured default, <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
    [Alias("Write")]
    Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires);

    /// <summary>The current result; PENDING when nothing is stored.</summary>
    [AlwaysInterleave, Alias("Get")]
    Task<TaskResult> GetAsync();

    /// <summary>
    /// Waits at most <paramref name="maxWait"/> for the result to become READY and returns the
    /// result as it then is (READY or not). Interleaves, so the waiter never blocks the write that
    /// wakes it. Keep <paramref name="maxWait"/> below the messaging response timeout; clients
    /// loop for longer waits.
    /// </summary>
    [AlwaysInterleave, Alias("Wait")]
    Task<TaskResult> WaitAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>True when the store holds a result (any state) for this id.</summary>
    [AlwaysInterleave, Alias("Exists")]
    Task<bool> ExistsAsync();

    /// <summary>Deletes the stored result. True when there was one.</summary>
    [Alias("Forget")]
    Task<bool> ForgetAsync();
}

/// <summary>A request to run a registered task.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.TaskSubmission")]
public sealed record TaskSubmission
{
    [Id(0)] public required string TaskId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public ResultPayload? Args { get; init; }
    [Id(3)] public string? GroupId { get; init; }
    [Id(4)] public string? ParentId { get; init; }
    [Id(5)] public string? Queue { get; init; }

    /// <summary>Per-result time to live; null for the task's or the global default.</summary>
    [Id(6)] public TimeSpan? Expires { get; init; }
}

/// <summary>What the runner accepted.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.SubmitReceipt")]
public sealed record SubmitReceipt
{
    [Id(0)] public required string TaskId { get; init; }

    /// <summary>True when the task's result will not be stored (ignore-result), so waiting on it would never end.</summary>
    [Id(1)] public bool ResultIgnored { get; init; }

    /// <summary>True when a failure is stored even though the result is ignored.</summary>
    [Id(2)] public bool StoresErrors { get; init; }
}

/// <summary>
/// Runs registered task handlers on the silo that receives the call. A stateless worker: as many
/// activations as load needs, each local to its silo's handlers.
/// </summary>
[Alias("ResultGrid.ITaskRunnerGrain")]
public interface ITaskRunnerGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Accepts the task and returns at once; the handler runs in the background and writes its
    /// result through the task's result grain.
    /// </summary>
    [Alias("Submit")]
    Task<SubmitReceipt> SubmitAsync(TaskSubmission submission);
}
