namespace ResultGrid.Grains;

/// <summary>
/// The SDK's gathered reads (<see cref="IResultBatchReaderGrain"/>): one store read for the
/// whole batch where reading is all a read does (<see cref="ResultReads.Direct"/>), otherwise
/// each id's read by its result grain, concurrently. Placed and interleaved like
/// <see cref="ResultReaderGrain"/>, and its own class, so a silo built before it (whose type
/// map lacks it) leaves the client on single reads.
/// </summary>
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
internal sealed class ResultBatchReaderGrain(ResultReads reads) : Grain, IResultBatchReaderGrain
{
    public Task<TaskResult[]> GetManyAsync(string[] taskIds)
    {
        ResultReads.CheckBatch(taskIds);
        foreach (var taskId in taskIds)
        {
            TaskIds.Validate(taskId, nameof(taskIds));
        }

        return reads.Direct ? reads.ReadManyAsync(taskIds, StoreCall.AllTasks) : ByResultGrainsAsync(taskIds);
    }

    private Task<TaskResult[]> ByResultGrainsAsync(string[] taskIds)
    {
        var reads = new Task<TaskResult>[taskIds.Length];
        for (var i = 0; i < reads.Length; i++)
        {
            reads[i] = GrainFactory.GetGrain<ITaskResultGrain>(taskIds[i]).GetAsync();
        }

        return Task.WhenAll(reads);
    }
}
