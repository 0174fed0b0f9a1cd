using Orleans.Concurrency;

namespace ResultGrid.Grains;

/// <summary>
/// The cluster's last <see cref="IResultFeedGrain.Capacity"/> writes, in memory. Readers park
/// on one shared signal that the next batch completes, so a thousand open live pages cost one
/// task, not a thousand timers polling.
/// </summary>
[Reentrant]
internal sealed class ResultFeedGrain : Grain, IResultFeedGrain
{
    private readonly ResultFeedEntry[] _ring = new ResultFeedEntry[IResultFeedGrain.Capacity];
    private long _last;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task AppendAsync(ResultFeedEntry[] entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Length == 0)
        {
            return Task.CompletedTask;
        }

        foreach (var entry in entries)
        {
            _last++;
            _ring[_last % _ring.Length] = entry with { Sequence = _last };
        }

        var woken = _next;
        _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        woken.TrySetResult();
        return Task.CompletedTask;
    }

    public async Task<ResultFeedPage> WatchAsync(long after, TimeSpan maxWait)
    {
        if (after < 0)
        {
            return Page(0);
        }

        if (after > _last)
        {
            after = 0;
        }

        if (after == _last && maxWait > TimeSpan.Zero)
        {
            // Interleaved: the wait holds no turn, so appends and other readers go on.
            await Task.WhenAny(_next.Task, Task.Delay(maxWait));
        }

        return Page(after);
    }

    private ResultFeedPage Page(long after)
    {
        var first = Math.Max(after + 1, _last - _ring.Length + 1);
        var entries = new ResultFeedEntry[Math.Max(0, _last - first + 1)];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = _ring[(first + i) % _ring.Length];
        }

        return new ResultFeedPage { Entries = entries, Last = _last };
    }
}
