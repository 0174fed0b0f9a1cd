using System.Collections.Concurrent;
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
    // Batches in flight at once: enough to keep store round trips overlapping while others
    // decode, few enough that reads arriving meanwhile gather into the next batch. With 256
    // readers in flight on Redis (2 shared cores, load average ~30) 1, 2, 4 and 8 made batches of
    // 121, 58, 38 and 21 ids on average, and their read rates were within the machine's noise of
    // each other (2 against 4, alternating runs: 44,000 and 42,000 against 34,000 and 53,000/s).
    private const int MaxBatchesInFlight = 4;

    private readonly IResultStore _store;
    private readonly ResultGridMetrics _metrics;
    private readonly ILogger<ResultReads> _logger;
    private readonly ConcurrentQueue<(string TaskId, TaskCompletionSource<TaskResult> Done)> _queue = new();
    private int _inFlight;

    public ResultReads(ResultStores stores, IOptions<ResultGridOptions> options, ResultGridMetrics metrics, ILogger<ResultReads> logger)
    {
        _store = stores.Default;
        _metrics = metrics;
        _logger = logger;

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
    public Task<TaskResult> ReadAsync(string taskId)
    {
        var done = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Enqueue((taskId, done));
        StartBatches();
        return done.Task;
    }

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

    /// <summary>Starts another batch loop while reads are queued and fewer than the most are in flight.</summary>
    private void StartBatches()
    {
        while (!_queue.IsEmpty)
        {
            var running = Volatile.Read(ref _inFlight);
            if (running >= MaxBatchesInFlight)
            {
                // A loop in flight takes these when its batch is done (and, as it ends, starts
                // again if any were queued after its last look).
                return;
            }

            if (Interlocked.CompareExchange(ref _inFlight, running + 1, running) == running)
            {
                _ = Task.Run(RunBatchesAsync);
                return;
            }
        }
    }

    private async Task RunBatchesAsync()
    {
        try
        {
            var batch = new List<(string TaskId, TaskCompletionSource<TaskResult> Done)>();
            while (true)
            {
                batch.Clear();
                while (batch.Count < GroupReads.BatchSize && _queue.TryDequeue(out var next))
                {
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                var ids = new string[batch.Count];
                for (var i = 0; i < ids.Length; i++)
                {
                    ids[i] = batch[i].TaskId;
                }

                try
                {
                    var results = Counted(ids, await StoreCall.Run(_store, _metrics, _logger, "read", ids.Length == 1 ? ids[0] : StoreCall.AllTasks, () => _store.ReadManyAsync(ids)));
                    for (var i = 0; i < results.Length; i++)
                    {
                        batch[i].Done.TrySetResult(results[i]);
                    }
                }
                catch (Exception ex)
                {
                    // Each reader gets the store's failure as a grain read would: nothing was read.
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetException(ex);
                    }
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            StartBatches();
        }
    }
}
