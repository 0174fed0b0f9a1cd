using System.Collections.Concurrent;

namespace ResultGrid;

/// <summary>
/// Calls in flight together, sent as one: in the SDK, reads by id to the silos'
/// <see cref="IResultBatchReaderGrain"/> and writes to <see cref="IResultBatchWriterGrain"/>; on
/// the silo, single reads as one store read (Redis MGET, SQL IN, memory partition batches). Under
/// load a call then costs a share of one grain call instead of one of its own; the grain call,
/// not the store, was most of the cost (Redis, one silo, 2 cores: 60,000 to 100,000 single reads/s
/// against 100,000 to 240,000 in batches of 16 to 128; 40,000 to 47,000 single writes/s against
/// 58,000 to 72,000 in batches of 64). A call that starts while no other is in flight goes alone,
/// at once and on its caller's context (its trace stays whole); one that starts while others are
/// out joins the next batch, which leaves as soon as one of the batches in flight is back, so
/// there is no window to wait out.
/// </summary>
/// <typeparam name="TItem">One call's input.</typeparam>
/// <typeparam name="TResult">One call's answer, in the batch's answer at the item's index.</typeparam>
/// <param name="send">Sends a batch; its answer has one result per item, in order.</param>
/// <param name="maxBatch">Items per batch at most.</param>
/// <param name="size">An item's bytes, for the batch's byte cap; null when items are small (ids).</param>
/// <param name="flowContext">
/// True to send batches on the execution context of the call that started them (the silo's
/// store reads: a read alone keeps its store span in its trace); false, for grain calls, so that
/// neither one caller's trace nor its Orleans RequestContext travels with the others' calls.
/// </param>
internal sealed class CallGathering<TItem, TResult>(Func<TItem[], Task<TResult[]>> send, int maxBatch, Func<TItem, long>? size = null, bool flowContext = false)
{
    // Batches in flight at once: enough to keep them overlapping while others are handled, few
    // enough that calls arriving meanwhile gather into the next. With 256 readers in flight on
    // Redis (2 shared cores) 1, 2, 4 and 8 made the silo's read batches 121, 58, 38 and 21 ids on
    // average, at read rates within the machine's noise of each other.
    private const int MaxCallsInFlight = 4;

    // A batch closes once its items reach this many bytes (one item larger than this goes alone):
    // gathered large payloads would make one message of many megabytes, which a single call
    // would never have been.
    private const long MaxBatchBytes = 1024 * 1024;

    private readonly ConcurrentQueue<(TItem Item, TaskCompletionSource<TResult> Done)> _queue = new();
    private int _calling;
    private int _batches;

    /// <summary>Counts a call in; true when others were in flight, so this one should be gathered. Every call is paired with <see cref="Exit"/>.</summary>
    public bool Enter() => Interlocked.Increment(ref _calling) > 1;

    /// <summary>Counts a call out.</summary>
    public void Exit() => Interlocked.Decrement(ref _calling);

    /// <summary>The answer for <paramref name="item"/> from the next batch; the caller's cancellation stops its wait, not the batch.</summary>
    public Task<TResult> CallAsync(TItem item, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Enqueue((item, done));
        StartBatches();
        return cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task;
    }

    private void StartBatches()
    {
        while (!_queue.IsEmpty)
        {
            var running = Volatile.Read(ref _batches);
            if (running >= MaxCallsInFlight)
            {
                // A call in flight takes these when it is back (and, as its loop ends, starts
                // another if any were queued after its last look).
                return;
            }

            if (Interlocked.CompareExchange(ref _batches, running + 1, running) == running)
            {
                if (flowContext)
                {
                    _ = Task.Run(SendBatchesAsync);
                }
                else
                {
                    using (ExecutionContext.SuppressFlow())
                    {
                        _ = Task.Run(SendBatchesAsync);
                    }
                }

                return;
            }
        }
    }

    private async Task SendBatchesAsync()
    {
        try
        {
            var batch = new List<(TItem Item, TaskCompletionSource<TResult> Done)>();
            (TItem Item, TaskCompletionSource<TResult> Done)? carried = null;
            while (true)
            {
                batch.Clear();
                long bytes = 0;
                while (batch.Count < maxBatch && (carried is { } next || _queue.TryDequeue(out next)))
                {
                    carried = null;
                    var itemBytes = size?.Invoke(next.Item) ?? 0;
                    if (batch.Count > 0 && bytes + itemBytes > MaxBatchBytes)
                    {
                        // Over the cap: it opens this loop's next batch.
                        carried = next;
                        break;
                    }

                    batch.Add(next);
                    bytes += itemBytes;
                }

                if (batch.Count == 0)
                {
                    return;
                }

                var items = new TItem[batch.Count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = batch[i].Item;
                }

                try
                {
                    var results = await send(items).ConfigureAwait(false);
                    if (results.Length != items.Length)
                    {
                        throw new InvalidOperationException($"A batch of {items.Length} calls was answered with {results.Length} results.");
                    }

                    for (var i = 0; i < results.Length; i++)
                    {
                        batch[i].Done.TrySetResult(results[i]);
                    }
                }
                catch (Exception ex)
                {
                    // Each caller gets the batch's failure, as its own call's would have been.
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetException(ex);
                    }
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _batches);
            StartBatches();
        }
    }
}
