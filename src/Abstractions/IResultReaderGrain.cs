namespace ResultGrid;

/// <summary>
/// Reads of results that need no rendezvous, answered on the silo that receives them (a
/// stateless worker: Orleans places it on the receiving silo, as many activations as load
/// needs), so a read of a stored result activates no <see cref="ITaskResultGrain"/>. Concurrent
/// reads are gathered into one batched store read (Redis MGET, SQL IN, one call per memory
/// partition). The silo decides per call whether a read may bypass the result grain: on a
/// single-retrieval store (<c>rpc://</c>, <c>?single_retrieval=true</c>) or with
/// ResultGrid:ExpireAfterRead set it hands the call to the result grain, which applies those
/// rules, so callers need no configuration to be correct.
/// </summary>
[Alias("ResultGrid.IResultReaderGrain")]
public interface IResultReaderGrain : IGrainWithIntegerKey
{
    /// <summary>The current result; PENDING when nothing is stored (as <see cref="ITaskResultGrain.GetAsync"/>).</summary>
    [Alias("Get")]
    Task<TaskResult> GetAsync(string taskId);

    /// <summary>The current state only; PENDING when nothing is stored. Never a retrieval.</summary>
    [Alias("GetState")]
    Task<string> GetStateAsync(string taskId);

    /// <summary>True when the store holds a result (any state) for the id.</summary>
    [Alias("Exists")]
    Task<bool> ExistsAsync(string taskId);

    /// <summary>Stored, or what the backend can tell of why not (expired, consumed), or PENDING.</summary>
    [Alias("Existence")]
    Task<ResultExistence> GetExistenceAsync(string taskId);

    /// <summary>
    /// The stored results of <paramref name="taskIds"/> (at most <see cref="GroupReads.BatchSize"/>)
    /// in one batched read, PENDING where there is none: a group's children, read as the group
    /// grain reads them (never a retrieval, on every backend).
    /// </summary>
    [Alias("ReadMany")]
    Task<TaskResult[]> ReadManyAsync(string[] taskIds);
}
