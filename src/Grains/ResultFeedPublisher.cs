using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace ResultGrid.Grains;

/// <summary>
/// This silo's applied writes on their way to the cluster's <see cref="IResultFeedGrain"/>: the
/// write path only enqueues (no call, no allocation beyond the entry), and a loop sends what
/// gathered every <see cref="Interval"/>, at most <see cref="IResultFeedGrain.Capacity"/> a batch.
/// Under a flood the queue keeps the newest: the live views show the latest writes, never fall
/// behind by minutes.
/// </summary>
internal sealed partial class ResultFeedPublisher(IGrainFactory grains, ILocalSiloDetails silo, ILogger<ResultFeedPublisher> logger)
    : SiloBackgroundLoop(nameof(ResultFeedPublisher))
{
    /// <summary>Short enough that a live page shows a write within a quarter second; one message per silo per interval at most.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly object _lock = new();
    private readonly Queue<ResultFeedEntry> _pending = new();
    private string? _silo;

    protected override void OnStarting() => _silo = silo.SiloAddress.ToParsableString();

    /// <summary>Called by the write path after the store applied <paramref name="record"/>.</summary>
    public void Written(TaskResult record, DateTimeOffset at)
    {
        var entry = new ResultFeedEntry
        {
            TaskId = record.TaskId,
            State = record.State,
            Name = record.Name,
            GroupId = record.GroupId,
            Worker = record.Worker,
            At = at,
            Silo = _silo ?? string.Empty,
        };
        lock (_lock)
        {
            if (_pending.Count == IResultFeedGrain.Capacity)
            {
                _pending.Dequeue();
            }

            _pending.Enqueue(entry);
        }
    }

    protected override async Task RunAsync(CancellationToken stopping)
    {
        var target = grains.GetGrain<IResultFeedGrain>(0);
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                ResultFeedEntry[] batch;
                lock (_lock)
                {
                    if (_pending.Count == 0)
                    {
                        continue;
                    }

                    batch = [.. _pending];
                    _pending.Clear();
                }

                try
                {
                    await target.AppendAsync(batch).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The feed is a live view, not a record: a lost batch is a gap on a page, never a lost result.
                    LogAppendFailed(logger, batch.Length, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(41, LogLevel.Debug, "{Count} writes did not reach the cluster's live feed; the live views miss them, the results are stored")]
    private static partial void LogAppendFailed(ILogger logger, int count, Exception exception);
}
