using System.Threading.Channels;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Group commit for result writes: concurrent writes queue here, and a few writer loops each
/// take what is queued (waiting up to the batch window for more, up to the size and byte caps)
/// and hand it to the store as one statement. A write's task completes only when the statement
/// that carries it has committed, so nothing is acknowledged before it is durable. Two writes
/// of one id never share a batch: the second waits for the next, so they apply in order.
/// </summary>
internal sealed class SqlWriteBatcher : IAsyncDisposable
{
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly Func<IReadOnlyList<TaskResult>, Task<StoreWriteResult[]>> _flush;
    private readonly TimeSpan _window;
    private readonly int _maxCount;
    private readonly long _maxBytes;
    private readonly Task[] _loops;

    public SqlWriteBatcher(Func<IReadOnlyList<TaskResult>, Task<StoreWriteResult[]>> flush, int writers, TimeSpan window, int maxCount, long maxBytes)
    {
        _flush = flush;
        _window = window;
        _maxCount = maxCount;
        _maxBytes = maxBytes;
        _loops = Enumerable.Range(0, writers).Select(_ => Task.Run(LoopAsync)).ToArray();
    }

    public Task<StoreWriteResult> WriteAsync(TaskResult result)
    {
        var pending = new PendingWrite(result);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SqlWriteBatcher), "The SQL result store is shutting down and takes no more writes.");
        }

        return pending.Completion.Task;
    }

    private static long SizeOf(TaskResult r) =>
        256 + (r.Payload?.Data.Length ?? 0) + (r.Args?.Data.Length ?? 0) + (r.Kwargs?.Data.Length ?? 0) + (r.Traceback?.Length ?? 0) * 2;

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var carry = new Queue<PendingWrite>();
        while (true)
        {
            if (carry.Count == 0 && !await reader.WaitToReadAsync())
            {
                return;
            }

            var batch = new List<PendingWrite>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            var deferred = new List<PendingWrite>();
            long bytes = 0;

            bool Add(PendingWrite write)
            {
                if (!ids.Add(write.Result.TaskId))
                {
                    deferred.Add(write);
                    return true;
                }

                batch.Add(write);
                bytes += SizeOf(write.Result);
                return batch.Count < _maxCount && bytes < _maxBytes;
            }

            var open = true;
            while (open && carry.Count > 0)
            {
                open = Add(carry.Dequeue());
            }

            while (open && reader.TryRead(out var next))
            {
                open = Add(next);
            }

            if (open && _window > TimeSpan.Zero)
            {
                using var windowEnd = new CancellationTokenSource(_window);
                try
                {
                    while (open && await reader.WaitToReadAsync(windowEnd.Token))
                    {
                        while (open && reader.TryRead(out var next))
                        {
                            open = Add(next);
                        }
                    }
                }
                catch (OperationCanceledException) when (windowEnd.IsCancellationRequested)
                {
                    // The window closed: send what there is.
                }
            }

            foreach (var write in deferred)
            {
                carry.Enqueue(write);
            }

            if (batch.Count > 0)
            {
                await FlushAsync(batch);
            }
        }
    }

    private async Task FlushAsync(List<PendingWrite> batch)
    {
        try
        {
            var outcomes = await _flush(batch.ConvertAll(w => w.Result));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(outcomes[i]);
            }
        }
        catch (Exception ex) when (batch.Count > 1 && ex is not ResultStoreUnavailableException)
        {
            // One bad row (too large for the column, say) must not fail the others: write them one by one.
            foreach (var write in batch)
            {
                await FlushAsync([write]);
            }
        }
        catch (Exception ex)
        {
            foreach (var write in batch)
            {
                write.Completion.TrySetException(ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private sealed class PendingWrite(TaskResult result)
    {
        public TaskResult Result { get; } = result;
        public TaskCompletionSource<StoreWriteResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
