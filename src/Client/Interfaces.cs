namespace ResultGrid.Client;

/// <summary>Reads and awaits results.</summary>
public interface IResultReader
{
    /// <summary>The result as it is now; PENDING for an id with nothing stored.</summary>
    Task<TaskResultInfo> GetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the task is READY, woken by the write (never polling), for as long as
    /// <paramref name="timeout"/> (null: no limit). With <paramref name="propagate"/> a FAILURE
    /// throws <see cref="TaskFailedException"/> and a REVOKED throws
    /// <see cref="TaskRevokedException"/>; without, they are returned as the outcome's failure.
    /// </summary>
    /// <exception cref="ResultTimeoutException">Not READY within <paramref name="timeout"/>.</exception>
    /// <exception cref="ResultConsumedException">An rpc:// result that was already retrieved.</exception>
    Task<TaskOutcome<T>> WaitAsync<T>(string taskId, TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for the task to be READY, woken by the write, and
    /// returns the result as it then is: READY, or not yet (no exception at the timeout). A
    /// READY result is handed out as by <see cref="WaitAsync"/> (single retrieval on rpc://).
    /// </summary>
    Task<TaskResultInfo> WaitUntilReadyAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// The result now, then each stored change of it (STARTED, PROGRESS meta, RETRY, ...) as it
    /// is stored, woken by the write, until it is READY (the last item) or the token is cancelled.
    /// </summary>
    IAsyncEnumerable<TaskResultInfo> WatchAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>The state alone (PENDING for an unknown id). Not a retrieval: an rpc:// result stays for its reader.</summary>
    Task<string> GetStateAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>True when a result (any state) is stored for the id.</summary>
    Task<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stored, or what the backend can tell of why not: <see cref="ResultExistence.Expired"/>
    /// (a SQL row or memory entry not yet removed), <see cref="ResultExistence.Consumed"/>
    /// (rpc://), else <see cref="ResultExistence.Pending"/>, which is all Celery ever says.
    /// </summary>
    Task<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the stored result (Celery's forget). True when there was one.</summary>
    Task<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The result's state changes, oldest first (state, time, worker, retries, a short reason),
    /// kept beside it on every backend while the silos run with <c>ResultGrid:History:Enabled</c>;
    /// empty when none are kept (never written with history on, forgotten or expired).
    /// </summary>
    /// <exception cref="NotSupportedException">History is off on the silos; the message names the setting.</exception>
    Task<IReadOnlyList<ResultHistoryEntry>> GetHistoryAsync(string taskId, CancellationToken cancellationToken = default);
}

/// <summary>Writes state changes, as a worker does.</summary>
public interface IResultWriter
{
    Task<WriteOutcome> MarkStartedAsync(string taskId, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Records a retry: the exception that caused it and the retry count so far.</summary>
    Task<WriteOutcome> MarkRetryAsync(string taskId, Exception reason, int retries, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);

    Task<WriteOutcome> MarkSucceededAsync<T>(string taskId, T value, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Stores the exception as Celery does (exc_type, exc_message, exc_module) with its stack trace as the traceback.</summary>
    Task<WriteOutcome> MarkFailedAsync(string taskId, Exception exception, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);

    Task<WriteOutcome> MarkRevokedAsync(string taskId, string? reason = null, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="record"/> as given: its state, its already encoded value and its
    /// extended fields (for bridges such as the HTTP API, whose callers encode their own values).
    /// The silo applies every rule of the other writes: never replacing SUCCESS, accept-content,
    /// the size limit, id and state rules.
    /// </summary>
    Task<WriteOutcome> WriteAsync(TaskResult record, TimeSpan? expires = null, CancellationToken cancellationToken = default);

    /// <summary>A custom state such as PROGRESS with its meta (Celery's update_state).</summary>
    Task<WriteOutcome> UpdateStateAsync<TMeta>(string taskId, string state, TMeta meta, ResultWriteOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>Submits registered tasks to the worker silos.</summary>
public interface ITaskSubmitter
{
    /// <summary>Runs the task named <paramref name="name"/> with <paramref name="args"/> and returns a handle to await.</summary>
    Task<TaskHandle> SubmitAsync(string name, object? args = null, SubmitOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>Groups of results (Celery's GroupResult): saved, restored, joined, streamed.</summary>
public interface IGroupResults
{
    /// <summary>Saves a group of child task ids in submission order (Celery's save()).</summary>
    Task<GroupStatus> SaveGroupAsync(string groupId, IReadOnlyList<string> taskIds, TimeSpan? expires = null, CancellationToken cancellationToken = default);

    /// <summary>The group's counts (Ready, Successful, Failed, Waiting, CompletedCount); Exists is false for an unknown group.</summary>
    Task<GroupStatus> GetGroupAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until every child is READY, under one <paramref name="timeout"/> for the whole set,
    /// woken by the children (never polling), and returns the outcomes in submission order. With
    /// <paramref name="propagate"/> the first failure in submission order is thrown; without, failures are returned as outcomes.
    /// </summary>
    Task<IReadOnlyList<TaskOutcome<T>>> JoinAsync<T>(string groupId, TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default);

    /// <summary>Each child's outcome as it completes (completion order), until all have; failures come as outcomes.</summary>
    IAsyncEnumerable<TaskOutcome<T>> AsCompletedAsync<T>(string groupId, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for every child to be READY, woken by the
    /// children, and returns the group's status then (ready or not; no exception at the timeout).
    /// </summary>
    /// <exception cref="InvalidOperationException">No such group is saved.</exception>
    Task<GroupStatus> WaitGroupAsync(string groupId, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>The children's results as stored now, in submission order (PENDING where none is); empty for an unknown group.</summary>
    Task<IReadOnlyList<TaskResultInfo>> GetGroupResultsAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>Each child's result as it completes (completion order), until all have, without decoding values.</summary>
    /// <exception cref="InvalidOperationException">No such group is saved.</exception>
    IAsyncEnumerable<TaskResultInfo> WatchGroupAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the group's meta (Celery's delete()); the children's results stay.</summary>
    Task<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>Submits one task per argument as a saved group; the handle joins it.</summary>
    Task<GroupHandle> SubmitGroupAsync(string name, IEnumerable<object?> argsList, SubmitOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves a group as a chord's header (Celery's chord(header)(body)): when its last child is
    /// READY, the registered task <paramref name="bodyName"/> runs once, with the children's results
    /// in submission order as its argument (a JSON array, so the body's argument type is a list
    /// or array of the header's result type). A failed child makes the body's result a FAILURE
    /// (ChordError) naming that child. Returns the body's task id.
    /// </summary>
    Task<string> SaveChordAsync(string groupId, IReadOnlyList<string> taskIds, string bodyName, string? bodyTaskId = null, TimeSpan? expires = null, CancellationToken cancellationToken = default);

    /// <summary>Submits one <paramref name="headerName"/> task per argument as a chord's header, and <paramref name="bodyName"/> as its body.</summary>
    Task<ChordHandle> SubmitChordAsync(string headerName, IEnumerable<object?> headerArgs, string bodyName, SubmitOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>Searches stored results for reports and audits (SQL backends).</summary>
public interface IResultSearch
{
    /// <summary>
    /// One page of results matching <paramref name="query"/>, newest first, from the backend's
    /// indexes. Pass the page's <see cref="ResultQueryPage.NextPageToken"/> back for the next.
    /// </summary>
    /// <exception cref="NotSupportedException">The backend keeps no queryable tables (memory://, rpc://, redis://).</exception>
    /// <exception cref="ArgumentException">The query or page token is not usable; the message says why.</exception>
    Task<ResultQueryPage> QueryAsync(ResultQuery query, CancellationToken cancellationToken = default);

    /// <summary>Every matching result, newest first, read a page at a time.</summary>
    IAsyncEnumerable<TaskResultInfo> QueryAllAsync(ResultQuery query, CancellationToken cancellationToken = default);
}

/// <summary>Upkeep of the backend.</summary>
public interface IResultMaintenance
{
    /// <summary>
    /// Deletes expired results now, in bounded batches (or joins the sweep already running), and
    /// reports it. On backends that expire results by themselves (Redis, memory) it reports
    /// <see cref="SweepReport.Swept"/> false.
    /// </summary>
    Task<SweepReport> SweepExpiredAsync(CancellationToken cancellationToken = default);
}

/// <summary>The whole SDK: reader, writer, submitter, groups, search and upkeep.</summary>
public interface IResultGridClient : IResultReader, IResultWriter, ITaskSubmitter, IGroupResults, IResultSearch, IResultMaintenance
{
}

/// <summary>Celery's ready(), successful() and failed(), answered from the state alone.</summary>
public static class ResultReaderExtensions
{
    /// <summary>True when the task is READY: SUCCESS, FAILURE or REVOKED.</summary>
    public static async Task<bool> IsReadyAsync(this IResultReader reader, string taskId, CancellationToken cancellationToken = default) =>
        TaskStates.IsReady(await reader.GetStateAsync(taskId, cancellationToken).ConfigureAwait(false));

    /// <summary>True when the task succeeded.</summary>
    public static async Task<bool> IsSuccessfulAsync(this IResultReader reader, string taskId, CancellationToken cancellationToken = default) =>
        await reader.GetStateAsync(taskId, cancellationToken).ConfigureAwait(false) == TaskStates.Success;

    /// <summary>True when the task failed (FAILURE; a revoked task is not failed, as in Celery).</summary>
    public static async Task<bool> IsFailedAsync(this IResultReader reader, string taskId, CancellationToken cancellationToken = default) =>
        await reader.GetStateAsync(taskId, cancellationToken).ConfigureAwait(false) == TaskStates.Failure;
}
