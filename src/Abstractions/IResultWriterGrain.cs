namespace ResultGrid;

/// <summary>
/// Where results are written: one conditional store write per state change (a stored SUCCESS is
/// never replaced), with no read before it, acknowledged only after the store has it. A
/// stateless worker, so a write never waits for an activation of its own; waiters of the task
/// are woken through its <see cref="ITaskResultGrain"/>.
/// </summary>
[Alias("ResultGrid.IResultWriterGrain")]
public interface IResultWriterGrain : IGrainWithIntegerKey
{
    /// <param name="result">The new state; <see cref="TaskResult.DateDone"/> and <see cref="TaskResult.ExpiresAt"/> are set by the writer.</param>
    /// <param name="expires">Time to live from now; null for the configured default, <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
    [Alias("Write")]
    Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires);
}
