namespace ResultGrid;

/// <summary>One write of a batch: the new state and its expiry, as <see cref="IResultWriterGrain.WriteAsync"/> takes them.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultWrite")]
public sealed record ResultWrite([property: Id(0)] TaskResult Result, [property: Id(1)] TimeSpan? Expires);

/// <summary>
/// One write's answer in a batch: what the store did (<see cref="Outcome"/>), or, when
/// <see cref="Error"/> is set, the failure that write alone would have thrown (the others of the
/// batch are not affected by it).
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultWriteReply")]
public sealed record ResultWriteReply([property: Id(0)] WriteOutcome Outcome, [property: Id(1)] Exception? Error);

/// <summary>
/// Many writes in one call, each written, acknowledged and answered as
/// <see cref="IResultWriterGrain.WriteAsync"/> would write, acknowledge and answer it alone: the
/// SDK gathers the writes its callers have in flight together into this call, so a write under
/// load costs a share of one grain call. Each write's reply comes only once the store has
/// answered for it. A separate interface, so a client can tell from the cluster's type map
/// whether its silos have it.
/// </summary>
[Alias("ResultGrid.IResultBatchWriterGrain")]
public interface IResultBatchWriterGrain : IGrainWithIntegerKey
{
    /// <summary>The most writes one call carries.</summary>
    public const int MaxBatch = 1000;

    /// <summary>Writes each of <paramref name="writes"/> (at most <see cref="MaxBatch"/>); one reply per write, in order.</summary>
    [Alias("WriteMany")]
    Task<ResultWriteReply[]> WriteManyAsync(ResultWrite[] writes);
}
