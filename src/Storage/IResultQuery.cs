namespace ResultGrid.Storage;

/// <summary>Optional store capability: searches by state, name, group and date, newest first, in pages (the SQL backends).</summary>
public interface IResultQuery : IResultStoreCapability
{
    /// <summary>
    /// One page of matching, unexpired results. Throws <see cref="ArgumentException"/> for a
    /// query or page token that is not usable.
    /// </summary>
    ValueTask<ResultPage> QueryAsync(ResultQuery query, CancellationToken cancellationToken = default);

    /// <summary>How many unexpired results are stored in each state (one grouped count on the state index).</summary>
    ValueTask<Dictionary<string, long>> CountByStateAsync(CancellationToken cancellationToken = default);
}
