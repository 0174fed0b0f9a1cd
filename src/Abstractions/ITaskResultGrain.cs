using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>
/// The rendezvous for one task's result, keyed by task id: readers and every waiter reach the
/// same activation, and a write to a result that has waiters is handed to it, so a waiter is
/// woken without pub/sub or polling. Only an id that someone reads or waits on has an
/// activation; writes to the others never create one.
/// </summary>
[Alias("ResultGrid.ITaskResultGrain")]
public interface ITaskResultGrain : IGrainWithStringKey
{
    /// <summary>The current result; PENDING when nothing is stored.</summary>
    [AlwaysInterleave, Alias("Get")]
    Task<TaskResult> GetAsync();

    /// <summary>
    /// Waits at most <paramref name="maxWait"/> for the result to become READY and returns the
    /// result as it then is (READY or not). Interleaves, so waiters never block each other or the
    /// notification that wakes them. Keep <paramref name="maxWait"/> below the messaging response
    /// timeout; clients loop for longer waits.
    /// </summary>
    [AlwaysInterleave, Alias("Wait")]
    Task<TaskResult> WaitAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits at most <paramref name="maxWait"/> for the result to differ from the version the
    /// caller has seen (<see cref="TaskResultVersion"/>; null: nothing seen, answer at once) and
    /// returns it as it then is. Every stored state change wakes it (STARTED, PROGRESS meta,
    /// RETRY, READY), not only READY: what a live view of one task needs. A READY result is
    /// handed out as by <see cref="WaitAsync"/> (single retrieval, expire-after-read).
    /// </summary>
    [AlwaysInterleave, Alias("Watch")]
    Task<TaskResult> WatchAsync(string? seenVersion, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current state only; PENDING when nothing is stored. Never a retrieval: on a
    /// single-retrieval backend (<c>rpc://</c>, <c>?single_retrieval=true</c>) it leaves the result for the one reader that takes it.
    /// </summary>
    [AlwaysInterleave, Alias("GetState")]
    Task<string> GetStateAsync();

    /// <summary>True when the store holds a result (any state) for this id.</summary>
    [AlwaysInterleave, Alias("Exists")]
    Task<bool> ExistsAsync();

    /// <summary>Stored, or what the backend can tell of why not (expired, consumed), or PENDING.</summary>
    [AlwaysInterleave, Alias("Existence")]
    Task<ResultExistence> GetExistenceAsync();

    /// <summary>Deletes the stored result. True when there was one.</summary>
    [Alias("Forget")]
    Task<bool> ForgetAsync();

    /// <summary>
    /// Called by writers after the store has a new result for this id and waiters were
    /// registered for it: wakes them with <paramref name="stored"/> (a READY result wakes
    /// waiters and watchers, any other state only watchers). Not for applications.
    /// </summary>
    /// <remarks>A 5 s response timeout: a delivery into a silo that just died is given up and retried, not waited on for 30 s.</remarks>
    [AlwaysInterleave, Alias("Notify"), ResponseTimeout("00:00:05")]
    Task NotifyAsync(TaskResult stored);
}
