using System.Diagnostics;

namespace ResultGrid.Storage;

/// <summary>The sweep loop, in one place for the sweeper grain and the command line.</summary>
internal static class ExpiredResults
{
    /// <summary>
    /// Deletes what had expired at <paramref name="now"/>, <paramref name="batchSize"/> rows a
    /// statement, until a batch comes back short or <paramref name="maxDuration"/> has passed,
    /// pausing <paramref name="pause"/> between batches so writers keep the database.
    /// <paramref name="call"/> wraps each statement (metrics, logging); <paramref name="onBatch"/> sees each count.
    /// </summary>
    public static async Task<(long Deleted, int Batches, TimeSpan Duration)> SweepAsync(
        IExpiredResultSweep store,
        DateTimeOffset now,
        int batchSize,
        TimeSpan maxDuration,
        TimeSpan pause,
        TimeProvider time,
        Func<Func<ValueTask<int>>, Task<int>>? call = null,
        Action<int>? onBatch = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var clock = Stopwatch.StartNew();
        long deleted = 0;
        var batches = 0;
        while (clock.Elapsed < maxDuration)
        {
            ValueTask<int> Batch() => store.DeleteExpiredAsync(now, batchSize, cancellationToken);
            var rows = call is null ? await Batch() : await call(Batch);
            batches++;
            deleted += rows;
            onBatch?.Invoke(rows);
            if (rows < batchSize)
            {
                break;
            }

            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, time, cancellationToken);
            }
        }

        return (deleted, batches, clock.Elapsed);
    }
}
