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
