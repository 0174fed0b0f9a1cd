namespace ResultGrid;

/// <summary>
/// One read's answer in a batch: the result (<see cref="Result"/>), or, when <see cref="Error"/>
/// is set, the failure that read alone met; the others of the batch keep their answers (a
/// single-retrieval read that handed its result out is never undone by another's failure).
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultReadReply")]
public sealed record ResultReadReply([property: Id(0)] TaskResult? Result, [property: Id(1)] Exception? Error);

/// <summary>
/// Many single reads in one call: what <see cref="IResultReaderGrain.GetAsync"/> answers for
/// each id, in order. The SDK gathers the reads its callers have in flight together into this
/// call, so a read under load costs a share of one grain call instead of one of its own. Like
/// the reader, a stateless worker on the receiving silo that decides per silo whether a read
/// may bypass the result grain: on a single-retrieval store or with ResultGrid:ExpireAfterRead
/// each id is the result grain's read, which applies those rules. A separate interface, so a
/// client can tell from the cluster's type map whether its silos have it.
/// </summary>
[Alias("ResultGrid.IResultBatchReaderGrain")]
public interface IResultBatchReaderGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// The current result of each of <paramref name="taskIds"/> (at most
    /// <see cref="GroupReads.BatchSize"/>), PENDING where nothing is stored; an id may appear
    /// more than once, and each occurrence is its own read. One reply per id, in order.
    /// </summary>
    [Alias("GetMany")]
    Task<ResultReadReply[]> GetManyAsync(string[] taskIds);
}
