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
    public async Task<ResultReadReply[]> GetManyAsync(string[] taskIds)
    {
        ResultReads.CheckBatch(taskIds);
        foreach (var taskId in taskIds)
        {
            TaskIds.Validate(taskId, nameof(taskIds));
        }

        if (reads.Direct)
        {
            // One store read: its failure is every read's (nothing was read, nothing consumed).
            return Array.ConvertAll(await reads.ReadManyAsync(taskIds, StoreCall.AllTasks), static r => new ResultReadReply(r, null));
        }

        // Each id its result grain's read, and each failure that read's alone: on a single-retrieval
        // store a read that succeeded has handed its result out, so another id's failure must not
        // fail the batch (its retry would find the result consumed and lose the answer).
        var pending = new Task<TaskResult>[taskIds.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = GrainFactory.GetGrain<ITaskResultGrain>(taskIds[i]).GetAsync();
        }

        return await EachAnswer.Of(pending, static r => new ResultReadReply(r, null), static ex => new ResultReadReply(null, ex));
    }
}
