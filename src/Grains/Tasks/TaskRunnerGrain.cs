using Orleans.Concurrency;

namespace ResultGrid.Grains.Tasks;

/// <summary>
/// Accepts submissions on the silo that receives them and hands them to the local executor.
/// Stateless and reentrant: it only looks the task up and starts it.
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class TaskRunnerGrain(TaskRegistry registry, TaskExecutor executor) : Grain, ITaskRunnerGrain
{
    public Task<SubmitReceipt> SubmitAsync(TaskSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        TaskIds.Validate(submission.TaskId, nameof(submission));
        TaskIds.ValidateExpires(submission.Expires, nameof(submission));
        var task = registry.Get(submission.Name);
        return Task.FromResult(executor.Accept(task, submission));
    }
}
