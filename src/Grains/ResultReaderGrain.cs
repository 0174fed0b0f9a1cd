namespace ResultGrid.Grains;

/// <summary>
/// Reads on the silo that receives them, with no result grain activation where reading is all a
/// read does (<see cref="ResultReads.Direct"/>); otherwise (single retrieval, expire-after-read)
/// the call is the result grain's, which applies those rules. As many activations as load needs,
/// each taking concurrent calls: a read waits on the store, never on another read.
/// </summary>
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
internal sealed class ResultReaderGrain(ResultReads reads) : Grain, IResultReaderGrain
{
    public Task<TaskResult> GetAsync(string taskId) =>
        reads.Direct ? reads.ReadAsync(Checked(taskId)) : ResultGrain(taskId).GetAsync();

    public async Task<string> GetStateAsync(string taskId) =>
        reads.Direct ? (await reads.ReadAsync(Checked(taskId))).State : await ResultGrain(taskId).GetStateAsync();

    public Task<bool> ExistsAsync(string taskId) =>
        reads.Direct ? reads.ExistsAsync(Checked(taskId)) : ResultGrain(taskId).ExistsAsync();

    public Task<ResultExistence> GetExistenceAsync(string taskId) =>
        reads.Direct ? reads.GetExistenceAsync(Checked(taskId)) : ResultGrain(taskId).GetExistenceAsync();

    // A group's children are read as the group grain reads them, on every backend: a plain
    // read, never a retrieval, so there is no rule to hand to a result grain.
    public Task<TaskResult[]> ReadManyAsync(string[] taskIds) => reads.ReadManyAsync(taskIds, StoreCall.AllTasks);

    private ITaskResultGrain ResultGrain(string taskId) => GrainFactory.GetGrain<ITaskResultGrain>(Checked(taskId));

    // The SDK validates ids before calling; a caller of the grain itself gets the same message.
    private static string Checked(string taskId)
    {
        TaskIds.Validate(taskId, nameof(taskId));
        return taskId;
    }
}
