using System.Threading.Channels;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Statement batching: concurrent calls queue here, and a few loops each take what is queued
/// (waiting up to the window for more, up to the count and byte caps) and hand it to the store
/// as one statement. For writes this is group commit: a write's task completes only when the
/// statement that carries it has committed, so nothing is acknowledged before it is durable, and
/// two writes of one id never share a batch (the second waits for the next), since one upsert
/// statement cannot change a row twice. For reads it turns many primary-key lookups into one
/// <c>IN</c> query.
/// </summary>
internal sealed class SqlBatcher<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly Func<IReadOnlyList<TItem>, Task<TResult[]>> _flush;
    private readonly Func<TItem, string>? _exclusiveKey;
    private readonly Func<TItem, long> _size;
    private readonly TimeSpan _window;
    private readonly int _maxCount;
    private readonly long _maxBytes;
    private readonly Task[] _loops;

    /// <param name="flush">Runs one batch as one statement; returns one result per item, in order.</param>
    /// <param name="exclusiveKey">When given, two items with the same key never share a batch.</param>
    /// <param name="size">An item's weight against <paramref name="maxBytes"/>.</param>
    /// <param name="loops">Batches in flight at once.</param>
    /// <param name="window">How long a batch waits for more items after its first; zero sends what is queued.</param>
    /// <param name="maxCount">The most items in one batch.</param>
    /// <param name="maxBytes">A batch closes once its items weigh this much.</param>
    public SqlBatcher(Func<IReadOnlyList<TItem>, Task<TResult[]>> flush, Func<TItem, string>? exclusiveKey, Func<TItem, long> size, int loops, TimeSpan window, int maxCount, long maxBytes)
    {
        _flush = flush;
        _exclusiveKey = exclusiveKey;
        _size = size;
        _window = window;
        _maxCount = maxCount;
        _maxBytes = maxBytes;
        _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(LoopAsync)).ToArray();
    }

    public Task<TResult> RunAsync(TItem item)
    {
        var pending = new Pending(item);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SqlBatcher<TItem, TResult>), "The SQL result store is shutting down and takes no more calls.");
        }

        return pending.Completion.Task;
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var carry = new Queue<Pending>();
        while (true)
        {
            if (carry.Count == 0 && !await reader.WaitToReadAsync())
            {
                return;
            }

            var batch = new List<Pending>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            var deferred = new List<Pending>();
            long bytes = 0;

            bool Add(Pending call)
            {
                if (_exclusiveKey is not null && !keys.Add(_exclusiveKey(call.Item)))
                {
                    deferred.Add(call);
                    return true;
                }

                batch.Add(call);
                bytes += _size(call.Item);
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

    private async Task FlushAsync(List<Pending> batch)
    {
        try
        {
            var outcomes = await _flush(batch.ConvertAll(w => w.Item));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(outcomes[i]);
            }
        }
        catch (Exception ex) when (batch.Count > 1 && ex is not ResultStoreUnavailableException)
        {
            // One bad row (too large for the column, say) must not fail the others: run them one by one.
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

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
