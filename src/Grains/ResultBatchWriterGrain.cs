namespace ResultGrid.Grains;

/// <summary>
/// The SDK's gathered writes (<see cref="IResultBatchWriterGrain"/>), handed together to
/// <see cref="ResultWriteService.WriteManyAsync"/>: one store call for the batch where the store
/// has one (a Redis script call), each write checked, acknowledged and answered as a single
/// write is, and one write's failure its reply, not the batch's. Placed and
/// interleaved like <see cref="ResultWriterGrain"/>, and its own class, so a silo built before
/// it leaves the client on single writes.
/// </summary>
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
internal sealed class ResultBatchWriterGrain(ResultWriteService service) : Grain, IResultBatchWriterGrain
{
    public Task<ResultWriteReply[]> WriteManyAsync(ResultWrite[] writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Length > IResultBatchWriterGrain.MaxBatch)
        {
            throw new ArgumentException($"At most {IResultBatchWriterGrain.MaxBatch} writes go in one call; {writes.Length} were sent.", nameof(writes));
        }

        return service.WriteManyAsync(writes);
    }
}
