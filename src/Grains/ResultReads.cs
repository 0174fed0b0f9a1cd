using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// Reads that go to the store directly, without a result grain: one per silo, shared by the
/// reader's activations (<see cref="ResultReaderGrain"/>) and the group grains. Concurrent reads
/// of single ids are gathered into one <see cref="IResultStore.ReadManyAsync"/> (Redis MGET,
/// SQL IN, memory partition batches): a read that arrives while the batches in flight are full
/// waits for the next one, so under load each round trip carries many ids and an idle silo sends
/// a read alone at once (no window to wait out).
/// </summary>
internal sealed class ResultReads
{
    private readonly IResultStore _store;
    private readonly ResultGridMetrics _metrics;
    private readonly ILogger<ResultReads> _logger;
    private readonly CallGathering<string, TaskResult> _gathered;

    public ResultReads(ResultStores stores, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, ILogger<ResultReads> logger)
    {
        _store = stores.Default;
        _metrics = metrics;
        _logger = logger;
        _gathered = new CallGathering<string, TaskResult>(ReadBatchAsync, GroupReads.BatchSize, flowContext: true);

        // One rule, decided here for every read: a read may skip the rendezvous when reading is
        // all it does. A single-retrieval store's read of a READY result consumes it, and
        // ExpireAfterRead shortens its expiry: both are the result grain's to do. Every store
        // is the same one on every silo (Redis and SQL are servers; memory:// lives in partition
        // grains, one activation each in the cluster), so a read here sees what the grain's would.
        Direct = !_store.SingleRetrieval && options.Value.ExpireAfterRead is null;
    }

    /// <summary>True when single reads may bypass the result grain (neither single retrieval nor expire-after-read).</summary>
    public bool Direct { get; }

    /// <summary>One result as stored now, PENDING when there is none: batched with the reads in flight beside it.</summary>
    public Task<TaskResult> ReadAsync(string taskId) => _gathered.CallAsync(taskId, CancellationToken.None);

    // One batch's store read; a failure is each of its readers' as a grain read's would be: nothing was read.
    private async Task<TaskResult[]> ReadBatchAsync(string[] ids) =>
        Counted(ids, await StoreCall.Run(_store, _metrics, _logger, "read", ids.Length == 1 ? ids[0] : StoreCall.AllTasks, () => _store.ReadManyAsync(ids)));

    /// <summary>
    /// The results of <paramref name="taskIds"/> in one store read, PENDING where there is none,
    /// each counted as read: a group's children (never a retrieval, on every backend).
    /// </summary>
    public async Task<TaskResult[]> ReadManyAsync(string[] taskIds, string operationId)
    {
        CheckBatch(taskIds);
        var results = await StoreCall.Run(_store, _metrics, _logger, "read", operationId, () => OnThreadPool(_store, taskIds));
        return Counted(taskIds, results);
    }

    /// <summary>The one limit on a batch of reads: at most <see cref="GroupReads.BatchSize"/> ids.</summary>
    public static void CheckBatch(string[] taskIds)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        if (taskIds.Length > GroupReads.BatchSize)
        {
            throw new ArgumentException($"At most {GroupReads.BatchSize} results are read at once; {taskIds.Length} were asked for.", nameof(taskIds));
        }
    }

    /// <summary>
    /// A batched store read run on the thread pool, not on the calling activation's
    /// single-threaded scheduler: concurrent batches then decode on every core (a 10,000-task
    /// join on Redis spent ~25 ms decoding one batch after another on the group grain's).
    /// </summary>
    public static ValueTask<TaskResult?[]> OnThreadPool(IResultStore store, string[] taskIds) =>
        new(Task.Run(() => store.ReadManyAsync(taskIds).AsTask()));

    public Task<bool> ExistsAsync(string taskId) =>
        StoreCall.Run(_store, _metrics, _logger, "exists", taskId, () => _store.ExistsAsync(taskId));

    public Task<ResultExistence> GetExistenceAsync(string taskId) =>
        StoreCall.Run(_store, _metrics, _logger, "exists", taskId, () => _store.GetExistenceAsync(taskId));

    private TaskResult[] Counted(string[] taskIds, TaskResult?[] results)
    {
        var read = new TaskResult[taskIds.Length];
        for (var i = 0; i < read.Length; i++)
        {
            read[i] = results[i] ?? TaskResult.Pending(taskIds[i]);
            _metrics.Read(_store.Backend, read[i].State);
        }

        return read;
    }
}
