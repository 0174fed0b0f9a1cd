using System.Collections.Concurrent;

namespace ResultGrid.Client;

/// <summary>
/// Reads by id that a client has in flight together, sent as one call to the silos'
/// <see cref="IResultBatchReaderGrain"/>: under load a read costs a share of one grain call
/// instead of one of its own (the grain call, not the store, was most of a read's cost: 60,000 to
/// 100,000 single reads/s against 100,000 to 240,000 in batches of 16 to 128, Redis, one silo, 2 cores).
/// A read that starts while no other is in flight goes alone, at once and on its caller's context
/// (its trace stays whole); one that starts while others are out joins the next batch, which
/// leaves as soon as one of the calls in flight is back, so there is no window to wait out.
/// </summary>
internal sealed class GatheredReads(Func<string[], Task<TaskResult[]>> send)
{
    // Calls in flight at once, and ids per call: enough calls to keep them overlapping while
    // others are decoded, few enough that reads arriving meanwhile gather into the next.
    private const int MaxCallsInFlight = 4;
    private const int MaxBatch = 128;

    private readonly ConcurrentQueue<(string TaskId, TaskCompletionSource<TaskResult> Done)> _queue = new();
    private int _reading;
    private int _calls;

    /// <summary>Counts a read in; true when others were in flight, so this one should be gathered. Every call is paired with <see cref="Exit"/>.</summary>
    public bool Enter() => Interlocked.Increment(ref _reading) > 1;

    /// <summary>Counts a read out.</summary>
    public void Exit() => Interlocked.Decrement(ref _reading);

    /// <summary>The read of <paramref name="taskId"/> in the next batch; the caller's cancellation stops its wait, not the batch.</summary>
    public Task<TaskResult> ReadAsync(string taskId, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Enqueue((taskId, done));
        StartCalls();
        return cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task;
    }

    private void StartCalls()
    {
        while (!_queue.IsEmpty)
        {
            var running = Volatile.Read(ref _calls);
            if (running >= MaxCallsInFlight)
            {
                // A call in flight takes these when it is back (and, as its loop ends, starts
                // another if any were queued after its last look).
                return;
            }

            if (Interlocked.CompareExchange(ref _calls, running + 1, running) == running)
            {
                // Not on the caller's execution context: the batch carries many callers' reads,
                // so neither one caller's trace nor its Orleans RequestContext travels with it.
                using (ExecutionContext.SuppressFlow())
                {
                    _ = Task.Run(SendBatchesAsync);
                }

                return;
            }
        }
    }

    private async Task SendBatchesAsync()
    {
        try
        {
            var batch = new List<(string TaskId, TaskCompletionSource<TaskResult> Done)>();
            while (true)
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.TryDequeue(out var next))
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
                    var results = await send(ids).ConfigureAwait(false);
                    if (results.Length != ids.Length)
                    {
                        throw new InvalidOperationException($"The silo answered {results.Length} results for a batch of {ids.Length} reads.");
                    }

                    for (var i = 0; i < results.Length; i++)
                    {
                        batch[i].Done.TrySetResult(results[i]);
                    }
                }
                catch (Exception ex)
                {
                    // Each reader gets the call's failure, as its own call's would have been.
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetException(ex);
                    }
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _calls);
            StartCalls();
        }
    }
}
