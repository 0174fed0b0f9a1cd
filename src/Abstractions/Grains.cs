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
    /// The current state only; PENDING when nothing is stored. Never a retrieval: on
    /// <c>rpc://</c> it leaves the result for the one reader that takes it.
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
    /// Called by writers after the store has a READY result for this id and waiters were
    /// registered for it: wakes them with <paramref name="stored"/>. Not for applications.
    /// </summary>
    /// <remarks>A 5 s response timeout: a delivery into a silo that just died is given up and retried, not waited on for 30 s.</remarks>
    [AlwaysInterleave, Alias("Notify"), ResponseTimeout("00:00:05")]
    Task NotifyAsync(TaskResult stored);
}

/// <summary>
/// Where results are written: one conditional store write per state change (a stored SUCCESS is
/// never replaced), with no read before it, acknowledged only after the store has it. A
/// stateless worker, so a write never waits for an activation of its own; waiters of the task
/// are woken through its <see cref="ITaskResultGrain"/>.
/// </summary>
[Alias("ResultGrid.IResultWriterGrain")]
public interface IResultWriterGrain : IGrainWithIntegerKey
{
    /// <param name="result">The new state; <see cref="TaskResult.DateDone"/> and <see cref="TaskResult.ExpiresAt"/> are set by the writer.</param>
    /// <param name="expires">Time to live from now; null for the configured default, <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
    [Alias("Write")]
    Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires);
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

/// <summary>A group's progress, kept by its grain from its children's pushes.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.GroupStatus")]
public sealed record GroupStatus
{
    [Id(0)] public required string GroupId { get; init; }

    /// <summary>False when no group of this id is saved (or it expired or was forgotten).</summary>
    [Id(1)] public bool Exists { get; init; }

    [Id(2)] public int Total { get; init; }

    /// <summary>Children READY (SUCCESS, FAILURE or REVOKED).</summary>
    [Id(3)] public int Completed { get; init; }

    [Id(4)] public int Succeeded { get; init; }

    /// <summary>Children FAILURE or REVOKED.</summary>
    [Id(5)] public int Failed { get; init; }

    public bool IsReady => Exists && Completed == Total;
    public int Waiting => Total - Completed;
}

/// <summary>Children that completed since a point in the group's completion order.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.GroupCompletions")]
public sealed record GroupCompletions
{
    /// <summary>Child task ids in the order they completed, starting at the position asked for.</summary>
    [Id(0)] public required string[] TaskIds { get; init; }

    [Id(1)] public required GroupStatus Status { get; init; }
}

/// <summary>
/// One group of tasks, keyed by group id: saved with its ordered children, told by each child
/// when it becomes READY (never polling them), and waited on by joiners.
/// </summary>
[Alias("ResultGrid.IGroupResultGrain")]
public interface IGroupResultGrain : IGrainWithStringKey
{
    /// <summary>Saves the group (Celery's save()); children already READY are counted at once.</summary>
    [Alias("Save")]
    Task<GroupStatus> SaveAsync(string[] taskIds, TimeSpan? expires);

    /// <summary>
    /// Saves the group as a chord's header: when its last child is READY, <paramref name="body"/>
    /// runs once with the children's results in submission order, or, if a child failed, its
    /// result is stored as FAILURE naming that child. The trigger is claimed in the store, so it
    /// fires once whatever the silos do.
    /// </summary>
    [Alias("SaveChord")]
    Task<GroupStatus> SaveChordAsync(string[] taskIds, TimeSpan? expires, ChordBody body);

    [AlwaysInterleave, Alias("Status")]
    Task<GroupStatus> GetStatusAsync();

    /// <summary>The saved child ids in submission order; empty when there is no group.</summary>
    [AlwaysInterleave, Alias("TaskIds")]
    Task<string[]> GetTaskIdsAsync();

    /// <summary>
    /// Children completed from position <paramref name="from"/> of the completion order, waiting
    /// at most <paramref name="maxWait"/> for at least one when there are none yet.
    /// </summary>
    [AlwaysInterleave, Alias("Completions")]
    Task<GroupCompletions> WaitForCompletionsAsync(int from, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>The stored results of <paramref name="taskIds"/> in one batched read, PENDING where there is none.</summary>
    [AlwaysInterleave, Alias("ReadResults")]
    Task<TaskResult[]> ReadResultsAsync(string[] taskIds);

    /// <summary>Called by writers when a child becomes READY. Not for applications.</summary>
    /// <remarks>A 5 s response timeout, as for <see cref="ITaskResultGrain.NotifyAsync"/>.</remarks>
    [Alias("ChildReady"), ResponseTimeout("00:00:05")]
    Task OnChildReadyAsync(string taskId, string state);

    /// <summary>Deletes the group's meta (Celery's GroupResult.delete()); the children stay.</summary>
    [Alias("Forget")]
    Task<bool> ForgetAsync();
}

/// <summary>
/// Searches stored results (by state, name, group, date), newest first, in pages. A stateless
/// worker that asks the store directly: only stores that keep queryable tables (the SQL
/// backends) can answer; the others say so.
/// </summary>
[Alias("ResultGrid.IResultQueryGrain")]
public interface IResultQueryGrain : IGrainWithIntegerKey
{
    /// <exception cref="NotSupportedException">The backend cannot be searched (memory://, rpc://, redis://).</exception>
    /// <exception cref="ArgumentException">The query or its page token is not usable.</exception>
    [Alias("Query")]
    Task<ResultPage> QueryAsync(ResultQuery query);
}
