namespace ResultGrid.Grains;

/// <summary>
/// The SDK's gathered writes (<see cref="IResultBatchWriterGrain"/>): each one goes through
/// <see cref="ResultWriteService"/> as a single write does, all at once, so the store's own
/// batching (one Redis script, one SQL statement) carries them together; each reply waits for
/// its own write's answer, and one write's failure is its reply, not the batch's. Placed and
/// interleaved like <see cref="ResultWriterGrain"/>, and its own class, so a silo built before
/// it leaves the client on single writes.
/// </summary>
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
internal sealed class ResultBatchWriterGrain(ResultWriteService writes) : Grain, IResultBatchWriterGrain
{
    public async Task<ResultWriteReply[]> WriteManyAsync(ResultWrite[] writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Length > IResultBatchWriterGrain.MaxBatch)
        {
            throw new ArgumentException($"At most {IResultBatchWriterGrain.MaxBatch} writes go in one call; {writes.Length} were sent.", nameof(writes));
        }

        var pending = new Task<WriteOutcome>[writes.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = WriteOne(writes[i]);
        }

        var replies = new ResultWriteReply[pending.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            try
            {
                replies[i] = new ResultWriteReply(await pending[i], null);
            }
            catch (Exception ex)
            {
                replies[i] = new ResultWriteReply(default, ex);
            }
        }

        return replies;
    }

    // A write that throws before its first await (a bad argument) fails as its own reply.
    private Task<WriteOutcome> WriteOne(ResultWrite write)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(write);
            return writes.WriteAsync(write.Result, write.Expires);
        }
        catch (Exception ex)
        {
            return Task.FromException<WriteOutcome>(ex);
        }
    }
}
