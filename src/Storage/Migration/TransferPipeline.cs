using System.Threading.Channels;

namespace ResultGrid.Storage.Migration;

/// <summary>
/// Pages read one after another from a cursor and handled several at a time (at most twice as
/// many read ahead of the last checkpoint as there are workers), with a checkpoint
/// that only ever names a cursor every page before which is done: after an interruption, work
/// resumes there and at worst repeats the pages that were in flight, which the imports make
/// harmless (they add only what the target lacks).
/// </summary>
internal static class TransferPipeline
{
    /// <param name="start">The cursor to read from; null for the beginning.</param>
    /// <param name="read">Reads the page at a cursor.</param>
    /// <param name="handle">Handles one page; runs up to <paramref name="parallelism"/> at once.</param>
    /// <param name="checkpoint">
    /// Called in page order once a page and all before it are handled, with the page and the
    /// cursor after it (null after the last page).
    /// </param>
    /// <param name="parallelism">Pages handled at once.</param>
    /// <param name="cancellationToken">Stops reading and handling.</param>
    public static async Task RunAsync<TItem, TResult>(
        string? start,
        Func<string?, CancellationToken, ValueTask<TransferPage<TItem>>> read,
        Func<TransferPage<TItem>, CancellationToken, ValueTask<TResult>> handle,
        Func<TransferPage<TItem>, TResult, string?, ValueTask> checkpoint,
        int parallelism,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pages = Channel.CreateUnbounded<(long Sequence, TransferPage<TItem> Page)>(new UnboundedChannelOptions { SingleWriter = true });
        var done = new SortedDictionary<long, (TransferPage<TItem> Page, TResult Result)>();
        var gate = new SemaphoreSlim(1, 1);
        // Pages read but not yet checkpointed: behind one slow page the others would otherwise
        // pile up handled-but-unsaved without bound (memory, and work a kill would redo).
        var window = new SemaphoreSlim(2 * parallelism, 2 * parallelism);
        long nextToCommit = 0;

        async Task Reader()
        {
            try
            {
                var cursor = start;
                for (long sequence = 0; ; sequence++)
                {
                    var waited = MigrationTimings.Start();
                    await window.WaitAsync(stop.Token);
                    MigrationTimings.Stop("pipeline.window", waited);
                    var reading = MigrationTimings.Start();
                    var page = await read(cursor, stop.Token);
                    MigrationTimings.Stop("read", reading);
                    await pages.Writer.WriteAsync((sequence, page), stop.Token);
                    if (page.NextCursor is null)
                    {
                        break;
                    }

                    cursor = page.NextCursor;
                }

                pages.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                pages.Writer.TryComplete(ex);
                throw;
            }
        }

        async Task Worker()
        {
            await foreach (var (sequence, page) in pages.Reader.ReadAllAsync(stop.Token))
            {
                var handling = MigrationTimings.Start();
                var result = await handle(page, stop.Token);
                MigrationTimings.Stop("handle", handling);
                await gate.WaitAsync(stop.Token);
                try
                {
                    // Commit in page order: a page's checkpoint waits for every page before it.
                    done[sequence] = (page, result);
                    while (done.Remove(nextToCommit, out var ready))
                    {
                        nextToCommit++;
                        var saving = MigrationTimings.Start();
                        await checkpoint(ready.Page, ready.Result, ready.Page.NextCursor);
                        MigrationTimings.Stop("checkpoint", saving);
                        window.Release();
                    }
                }
                finally
                {
                    gate.Release();
                }
            }
        }

        var tasks = new List<Task> { Reader() };
        tasks.AddRange(Enumerable.Range(0, parallelism).Select(_ => Task.Run(Worker, stop.Token)));
        try
        {
            // The first failure stops the others, and is the one reported.
            while (tasks.Count > 0)
            {
                var finished = await Task.WhenAny(tasks);
                tasks.Remove(finished);
                if (finished.IsFaulted || finished.IsCanceled)
                {
                    await stop.CancelAsync();
                    await finished;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch (Exception)
            {
                // The others, stopped because one failed (or failing after it): the first
                // failure is what propagates, already thrown above.
            }
        }
    }
}
