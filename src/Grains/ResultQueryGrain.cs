using Orleans.Concurrency;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>Answers searches from the store's own indexes, on the silo that receives the call.</summary>
[StatelessWorker, Reentrant]
internal sealed class ResultQueryGrain(ResultStores stores) : Grain, IResultQueryGrain
{
    public async Task<ResultPage> QueryAsync(ResultQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(query));
        }

        return await Searchable().QueryAsync(query);
    }

    public async Task<StateCounts> CountByStateAsync()
    {
        var searchable = Searchable();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var counts = await searchable.CountByStateAsync();
        return new StateCounts { Counts = counts, Took = System.Diagnostics.Stopwatch.GetElapsedTime(started) };
    }

    public async Task<ResultHistoryEntry[]> GetHistoryAsync(string taskId)
    {
        TaskIds.Validate(taskId, nameof(taskId));
        var store = stores.Default;
        if (!store.TryGetCapability<IResultHistory>(out var history))
        {
            throw new NotSupportedException(
                $"State history is off for the {store.Backend} backend ({stores.RedactedUrl}): set ResultGrid:History:Enabled=true on the silos to keep each result's state changes " +
                "(ResultGrid:History:MaxEntries, 1 to 1000, caps them per result; default 100). Writes made while it was off have no history.");
        }

        return [.. await history.ReadHistoryAsync(taskId)];
    }

    private IResultQuery Searchable()
    {
        var store = stores.Default;
        return store.TryGetCapability<IResultQuery>(out var searchable)
            ? searchable
            : throw new NotSupportedException(
                $"The {store.Backend} backend ({stores.RedactedUrl}) keeps no queryable tables, so results cannot be searched or counted by state, name, group or date. " +
                "Use a SQL backend (db+postgresql://, db+mysql://, db+sqlite://) for reporting; results are still read by id on every backend.");
    }
}
