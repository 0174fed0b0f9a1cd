using System.Threading.Channels;

namespace ResultGrid.Storage.Migration;

/// <summary>
/// Read-ahead for a transfer source whose page read has a short ordered step (finding the keys
/// and the next cursor: Redis's SCAN) and a longer rest that needs no order (fetching and
/// decoding the values). Asked for the page at a cursor, it goes on scanning the next
/// <c>depth</c> pages and starts their rest at once, so several pages' values are fetched and
/// decoded while the caller imports the page it got: the copy is no longer one round trip after
/// another. Only reads run ahead: the caller still saves a cursor only once its page is
/// imported, so a kill loses nothing and resumes exactly (pages read ahead are read again).
/// A call for any other cursor (a resumed or second pass) drops what was read ahead and starts
/// from there.
/// </summary>
/// <param name="depth">Pages scanned ahead of the caller at most.</param>
/// <param name="step">The ordered step at a cursor: the cursor after it and the rest of the page, already started.</param>
internal sealed class TransferReadAhead<T>(int depth, Func<string?, int, Task<(string? Next, Task<TransferPage<T>> Page)>> step) : IDisposable
{
    private readonly SemaphoreSlim _serial = new(1, 1);
    private Run? _run;

    public async Task<TransferPage<T>> ReadAsync(string? cursor, int pageSize)
    {
        // One caller at a time: the run's next cursor is only known once the page before is handed out.
        await _serial.WaitAsync();
        try
        {
            if (_run is not { } run || run.PageSize != pageSize || run.Expected != cursor)
            {
                _run?.Dispose();
                run = _run = new Run(cursor, pageSize, depth, step);
            }

            var (next, page) = await run.Pages.Reader.ReadAsync();
            run.Room.Release();
            run.Expected = next;
            if (next is null)
            {
                // The last page: the next call (a verify pass from the start, say) begins afresh.
                _run = null;
            }

            try
            {
                return await page;
            }
            catch
            {
                // A failed read ends the run: the caller's retry starts it again from its cursor.
                run.Dispose();
                _run = null;
                throw;
            }
        }
        finally
        {
            _serial.Release();
        }
    }

    public void Dispose()
    {
        _run?.Dispose();
        _run = null;
    }

    /// <summary>Pages from one cursor on, scanned in order into a channel by one loop.</summary>
    private sealed class Run : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public Run(string? cursor, int pageSize, int depth, Func<string?, int, Task<(string? Next, Task<TransferPage<T>> Page)>> step)
        {
            (Expected, PageSize) = (cursor, pageSize);
            Room = new SemaphoreSlim(depth, depth);
            _ = ScanAsync(cursor, step);
        }

        public string? Expected { get; set; }
        public int PageSize { get; }
        public SemaphoreSlim Room { get; }
        public Channel<(string? Next, Task<TransferPage<T>> Page)> Pages { get; } = Channel.CreateUnbounded<(string?, Task<TransferPage<T>>)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        private async Task ScanAsync(string? cursor, Func<string?, int, Task<(string? Next, Task<TransferPage<T>> Page)>> step)
        {
            try
            {
                while (true)
                {
                    await Room.WaitAsync(_stop.Token);
                    (string? Next, Task<TransferPage<T>> Page) scanned;
                    try
                    {
                        scanned = await step(cursor, PageSize);
                    }
                    catch (Exception ex)
                    {
                        // Handed to the caller as its page's failure, the exception as thrown.
                        Pages.Writer.TryWrite((cursor, Task.FromException<TransferPage<T>>(ex)));
                        break;
                    }

                    Pages.Writer.TryWrite(scanned);
                    if (scanned.Next is null)
                    {
                        break;
                    }

                    cursor = scanned.Next;
                }
            }
            catch (OperationCanceledException)
            {
                // Dropped: a call for another cursor, or the store closing.
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            // Pages read ahead and never asked for: their failures are nobody's to report.
            while (Pages.Reader.TryRead(out var left))
            {
                _ = left.Page.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }
    }
}
