namespace ResultGrid;

/// <summary>
/// Searches stored results (by state, name, group, date), newest first, in pages. A stateless
/// worker that asks the store directly: only stores that keep queryable tables (the SQL
/// backends) can answer; the others say so.
/// </summary>
[Alias("ResultGrid.IResultQueryGrain")]
public interface IResultQueryGrain : IGrainWithIntegerKey
{
    /// <exception cref="NotSupportedException">The backend cannot be searched (memory://, rpc://, redis://).</exception>
    /// <exception cref="ArgumentException">The query or its page token is not usable.</exception>
    [Alias("Query")]
    Task<ResultPage> QueryAsync(ResultQuery query);
}
