using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>One applied write, as the live views show it: which result, its new state, and where.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultFeedEntry")]
public sealed record ResultFeedEntry
{
    /// <summary>The feed's own order, from 1; given by the feed grain, 0 until then.</summary>
    [Id(0)] public long Sequence { get; init; }
    [Id(1)] public required string TaskId { get; init; }
    [Id(2)] public required string State { get; init; }
    [Id(3)] public string? Name { get; init; }
    [Id(4)] public string? GroupId { get; init; }
    [Id(5)] public required DateTimeOffset At { get; init; }
    [Id(6)] public string? Worker { get; init; }
    [Id(7)] public required string Silo { get; init; }
}

/// <summary>A page of the feed: the entries after the sequence asked for, and the last sequence the feed has given.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultFeedPage")]
public sealed record ResultFeedPage
{
    [Id(0)] public required ResultFeedEntry[] Entries { get; init; }
    [Id(1)] public long Last { get; init; }
}

/// <summary>
/// The cluster's recent writes, newest last, for live views (the dashboard's results page, the
/// API's <c>results/events</c>). Each silo sends what it wrote in batches a few times a second;
/// the grain keeps the last <see cref="Capacity"/> in memory only. Not a log: a new activation
/// starts empty, and a reader that falls behind by more than the capacity misses entries.
/// </summary>
[Alias("ResultGrid.IResultFeedGrain")]
public interface IResultFeedGrain : IGrainWithIntegerKey
{
    /// <summary>How many entries the feed keeps.</summary>
    public const int Capacity = 1000;

    /// <summary>Called by each silo's publisher. Not for applications.</summary>
    [Alias("Append"), OneWay]
    Task AppendAsync(ResultFeedEntry[] entries);

    /// <summary>
    /// The entries whose sequence is above <paramref name="after"/>: answered at once when there
    /// are some, else when the next batch comes, or at <paramref name="maxWait"/> with none. A
    /// negative <paramref name="after"/> answers at once with every kept entry (a reader's first
    /// call, which learns <see cref="ResultFeedPage.Last"/>). An <paramref name="after"/> beyond
    /// the feed's last (the grain was activated anew) is read as 0.
    /// </summary>
    [AlwaysInterleave, Alias("Watch")]
    Task<ResultFeedPage> WatchAsync(long after, TimeSpan maxWait);
}
