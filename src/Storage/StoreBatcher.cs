using System.Threading.Channels;

namespace ResultGrid.Storage;

/// <summary>
/// Call batching, the stores' one group commit: concurrent calls queue here, and a few loops each
/// take what is queued (waiting up to the window for more, up to the count and byte caps) and
/// hand it to the store as one call: one SQL statement, one Redis script. A call's task
/// completes only when the batch that carries it has its answer, so nothing is acknowledged
/// before the store has it; while the loops' batches are in flight, the next calls gather. With
/// an exclusive key, two items of one key never share a batch (the second waits for the next),
/// since one upsert statement cannot change a row twice. For reads it turns many lookups into one
/// (<c>IN</c>, MGET).
/// </summary>
/// <typeparam name="TItem">One call's input.</typeparam>
/// <typeparam name="TResult">One call's answer.</typeparam>
internal sealed class StoreBatcher<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly Func<IReadOnlyList<TItem>, Task<TResult[]>> _flush;
    private readonly Func<TItem, string>? _exclusiveKey;
    private readonly Func<Exception, bool>? _splitOnFailure;
    private readonly string _store;
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
    /// <param name="splitOnFailure">
    /// When given and true for a batch's error, its items run again one by one, so that one bad
    /// item (a row too large for its column) does not fail the others; only for stores where a
    /// failed batch applied nothing. Without it, a failed batch fails every item with its error.
    /// </param>
    /// <param name="store">The store, as calls after <see cref="DisposeAsync"/> are told (e.g. "The SQL result store").</param>
    public StoreBatcher(Func<IReadOnlyList<TItem>, Task<TResult[]>> flush, Func<TItem, string>? exclusiveKey, Func<TItem, long> size, int loops, TimeSpan window, int maxCount, long maxBytes,
        Func<Exception, bool>? splitOnFailure, string store)
    {
        _flush = flush;
        _exclusiveKey = exclusiveKey;
        _splitOnFailure = splitOnFailure;
        _store = store;
        _size = size;
        _window = window;
        _maxCount = maxCount;
        _maxBytes = maxBytes;
        _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(LoopAsync)).ToArray();
    }

    /// <summary>Queues one call; completes with its answer once its batch has one, or with the batch's error.</summary>
    public Task<TResult> RunAsync(TItem item)
    {
        var pending = new Pending(item);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(StoreBatcher<TItem, TResult>), $"{_store} is shutting down and takes no more calls.");
        }

        return pending.Completion.Task;
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var carry = new Queue<Pending>();

        // A wait on the channel that a window ended before it did, taken up by the next batch.
        // Waits on the channel are never cancelled: in .NET 10 a writer's TryWrite racing the
        // removal of a cancelled waiter can throw NullReferenceException (dotnet/runtime#131141),
        // which failed a PostgreSQL write in a full bench run when the window was a cancelled wait.
        Task<bool>? waiting = null;
        while (true)
        {
            if (carry.Count == 0)
            {
                waiting ??= reader.WaitToReadAsync().AsTask();
                var more = await waiting;
                waiting = null;
                if (!more)
                {
                    return;
                }
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
                // Until the window closes or the batch is full; the window closing sends what there is.
                var windowEnd = Task.Delay(_window);
                while (open)
                {
                    waiting ??= reader.WaitToReadAsync().AsTask();
                    if (await Task.WhenAny(waiting, windowEnd) != waiting)
                    {
                        break;
                    }

                    var more = await waiting;
                    waiting = null;
                    if (!more)
                    {
                        break;
                    }

                    while (open && reader.TryRead(out var next))
                    {
                        open = Add(next);
                    }
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
        catch (Exception ex) when (batch.Count > 1 && _splitOnFailure is not null && _splitOnFailure(ex))
        {
            // One bad item (a row too large for its column, say) must not fail the others: run them one by one.
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

    /// <summary>Takes no more calls, and returns once every queued call has its answer.</summary>
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
