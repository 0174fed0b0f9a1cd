using Orleans.Concurrency;

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

    /// <summary>How many unexpired results are stored in each state, counted by the store from its indexes.</summary>
    /// <exception cref="NotSupportedException">The backend keeps no queryable tables.</exception>
    [Alias("CountByState")]
    Task<StateCounts> CountByStateAsync();

    /// <summary>
    /// The result's state history, oldest first (empty when nothing is kept for it: never written
    /// with history on, forgotten or expired). Every backend keeps one while
    /// <c>ResultGrid:History:Enabled</c> is on.
    /// </summary>
    /// <exception cref="NotSupportedException">History is off (<c>ResultGrid:History:Enabled</c> is false).</exception>
    /// <exception cref="ArgumentException">The task id is not usable.</exception>
    [Alias("GetHistory")]
    Task<ResultHistoryEntry[]> GetHistoryAsync(string taskId);
}

/// <summary>Stored results per state, and how long the store took to count them.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.StateCounts")]
public sealed record StateCounts
{
    [Id(0)] public required Dictionary<string, long> Counts { get; init; }
    [Id(1)] public TimeSpan Took { get; init; }
}
