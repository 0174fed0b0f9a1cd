using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

namespace ResultGrid.Storage;

/// <summary>
/// Where results live. One implementation per backend, chosen by backend URL. Every provider
/// passes the same conformance suite. Implementations are thread-safe singletons.
/// </summary>
public interface IResultStore
{
    /// <summary>The backend's scheme as used in metrics and logs, e.g. <c>memory</c> or <c>redis</c>.</summary>
    string Backend { get; }

    /// <summary>
    /// True for single-retrieval stores (the transient <c>rpc://</c>, and the durable <c>redis://</c>
    /// and <c>db+</c> stores with <c>?single_retrieval=true</c>): the first retrieval of a READY
    /// result goes through <see cref="ConsumeAsync"/>, and later reads see <see cref="TaskStates.Consumed"/>.
    /// </summary>
    bool SingleRetrieval { get; }

    /// <summary>
    /// This store's optional capability <typeparamref name="T"/> (<see cref="IResultChangeFeed"/>,
    /// <see cref="IResultQuery"/>, <see cref="IResultScan"/>, <see cref="IExpiredResultSweep"/>,
    /// <see cref="IResultTransfer"/>, <see cref="IBackendDiagnostics"/>, <see cref="IRawRecordReader"/>)
    /// when it really has it. Ask here, never with <c>is</c> on the store object: a store that wraps
    /// others (<see cref="DualWriteResultStore"/>) answers from what its inner stores have, and its
    /// object implements none of them. The default suits a store that implements its capabilities
    /// itself; a wrapping store must override it.
    /// </summary>
    bool TryGetCapability<T>([NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability
    {
        capability = this as T;
        return capability is not null;
    }

    /// <summary>
    /// Connects and prepares (creates tables, checks the server). Called once in the silo
    /// lifecycle before grains run, never from a constructor.
    /// </summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Stores <paramref name="result"/> in one conditional write: a stored SUCCESS is never
    /// replaced, and on a single-retrieval store neither is a result already consumed. The rule
    /// lives here, in the write itself, never in a read before it. Returns only once the backend
    /// has acknowledged the write.
    /// </summary>
    ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default);

    /// <summary>
    /// Many writes at once, each the conditional write <see cref="WriteAsync"/> makes, each with
    /// its own answer, in the order given: its outcome, or the error that left it unanswered (one
    /// write's failure is never another's). Each answer is given only once the backend has
    /// acknowledged that write or failed it. A store overrides this with one batched round trip
    /// (Redis: one script call); the default writes them one by one, all in flight together.
    /// </summary>
    async ValueTask<StoreWriteAnswer[]> WriteManyAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default) =>
        await StoreWriteAnswer.EachAlone(this, results, cancellationToken);

    /// <summary>
    /// The stored result; null when there is none or it has expired (an expired result is never
    /// returned, even before cleanup removes it). A result already consumed reads as a
    /// <see cref="TaskStates.Consumed"/> record.
    /// </summary>
    ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Many results at once, in the order asked, null where there is none (or it expired). A
    /// store overrides this with one batched round trip (Redis MGET, SQL IN); the default reads
    /// them one by one, all in flight together.
    /// </summary>
    async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default) =>
        await Task.WhenAll(taskIds.Select(id => ReadAsync(id, cancellationToken).AsTask()));

    /// <summary>True when an unexpired, unconsumed result is stored.</summary>
    ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stored, or why not where the store can tell (expired but not yet removed, consumed);
    /// PENDING otherwise. The default knows only stored or not.
    /// </summary>
    async ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default) =>
        await ExistsAsync(taskId, cancellationToken) ? ResultExistence.Stored : ResultExistence.Pending;

    /// <summary>Deletes the result. True when there was one.</summary>
    ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Saves a group's meta (Celery's save()), replacing an earlier save of the same id.</summary>
    ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default);

    /// <summary>The saved group (Celery's restore()); null when there is none or it expired.</summary>
    ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the group's meta (not its children's results). True when there was one.</summary>
    ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Brings the stored result's expiry forward to <paramref name="expiresAt"/>; never later
    /// than it already is. True when a result is stored. (Expire-after-read.)
    /// </summary>
    ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a one-time event under <paramref name="key"/> (a chord's trigger), atomically in
    /// the backend: true for the first caller only, across silos and restarts, until the claim
    /// expires at <paramref name="expiresAt"/> (null: never).
    /// </summary>
    ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Single retrieval: atomically returns the READY result and marks it consumed, so that no
    /// two callers ever both receive it. Null when there is nothing READY to hand out (not
    /// stored, not ready, or already consumed).
    /// </summary>
    ValueTask<TaskResult?> ConsumeAsync(string taskId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"The {Backend} backend does not hand results out once; rpc:// does, and redis:// and the db+ URLs with ?single_retrieval=true.");
}

/// <summary>
/// An optional feature of a result store, found with <see cref="IResultStore.TryGetCapability{T}"/>:
/// what a store has beyond the contract every backend keeps.
/// </summary>
public interface IResultStoreCapability;

/// <summary>Asking a store for its capabilities.</summary>
public static class ResultStoreCapabilities
{
    /// <summary>The capability, or null when the store does not have it.</summary>
    public static T? Capability<T>(this IResultStore store) where T : class, IResultStoreCapability
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.TryGetCapability<T>(out var capability) ? capability : null;
    }

    /// <summary>True when the store has the capability.</summary>
    public static bool Has<T>(this IResultStore store) where T : class, IResultStoreCapability => store.Capability<T>() is not null;
}

/// <summary>What a conditional write did.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.Storage.StoreWriteResult")]
public readonly record struct StoreWriteResult
{
    public StoreWriteResult(WriteOutcome outcome, TaskResult? current = null)
    {
        Outcome = outcome;
        Current = current;
    }

    /// <summary>Stored, kept an existing SUCCESS, or (single retrieval) the result was already consumed.</summary>
    [Id(0)] public WriteOutcome Outcome { get; init; }

    /// <summary>When the write was refused, the stored SUCCESS if the store returned it cheaply; otherwise null.</summary>
    [Id(1)] public TaskResult? Current { get; init; }

    public static StoreWriteResult Stored => new(WriteOutcome.Stored);

    public bool Applied => Outcome == WriteOutcome.Stored;
}

/// <summary>
/// One write's answer among many (<see cref="IResultStore.WriteManyAsync"/>): what the store did,
/// or the error that left this write unanswered, which <see cref="Unwrap"/> throws as the write
/// alone would have thrown it.
/// </summary>
public readonly struct StoreWriteAnswer
{
    private readonly ExceptionDispatchInfo? _error;

    /// <summary>The write was answered: stored, or refused with <paramref name="result"/>'s outcome.</summary>
    public StoreWriteAnswer(StoreWriteResult result) => Result = result;

    /// <summary>The write has no answer: <paramref name="error"/> is why (a lost connection, a refused command).</summary>
    public StoreWriteAnswer(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _error = ExceptionDispatchInfo.Capture(error);
    }

    /// <summary>What the store did; null when <see cref="Error"/> is set.</summary>
    public StoreWriteResult? Result { get; }

    /// <summary>Why the write has no answer; null when it has one.</summary>
    public Exception? Error => _error?.SourceException;

    /// <summary>The outcome; the error, rethrown with its own stack, when there is none.</summary>
    public StoreWriteResult Unwrap()
    {
        _error?.Throw();
        return Result ?? throw new InvalidOperationException("This StoreWriteAnswer was never given a result or an error.");
    }

    /// <summary>Each of <paramref name="results"/> written alone by <see cref="IResultStore.WriteAsync"/>, all in flight together.</summary>
    internal static Task<StoreWriteAnswer[]> EachAlone(IResultStore store, IReadOnlyList<TaskResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        var pending = new Task<StoreWriteAnswer>[results.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = Of(store, results[i], cancellationToken);
        }

        return Task.WhenAll(pending);
    }

    /// <summary>One <see cref="IResultStore.WriteAsync"/>, its failure (also one thrown before its first await) as its answer.</summary>
    private static async Task<StoreWriteAnswer> Of(IResultStore store, TaskResult result, CancellationToken cancellationToken)
    {
        try
        {
            return new StoreWriteAnswer(await store.WriteAsync(result, cancellationToken));
        }
        catch (Exception ex)
        {
            return new StoreWriteAnswer(ex);
        }
    }
}
