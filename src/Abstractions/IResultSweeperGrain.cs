using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>What one sweep of expired results did.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.SweepReport")]
public sealed record SweepReport
{
    [Id(0)] public required string Backend { get; init; }

    /// <summary>
    /// False when the backend expires results by itself (Redis key TTLs, the memory partitions'
    /// timers), so there is nothing for a sweep to do.
    /// </summary>
    [Id(1)] public bool Swept { get; init; }

    /// <summary>Expired results deleted.</summary>
    [Id(2)] public long Deleted { get; init; }

    /// <summary>Bounded DELETE statements run.</summary>
    [Id(3)] public int Batches { get; init; }

    [Id(4)] public TimeSpan Duration { get; init; }

    /// <summary>The earliest expiry of a result still stored though expired, after the sweep (null: none left).</summary>
    [Id(5)] public DateTimeOffset? OldestExpiredRemaining { get; init; }
}

/// <summary>
/// The sweeper of one store: a single grain, driven by one Orleans reminder, however many
/// results there are (a reminder per result would cost a remote call and a storage write per
/// task, and every silo re-reads its reminder range on each refresh).
/// </summary>
[Alias("ResultGrid.IResultSweeperGrain")]
public interface IResultSweeperGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts a sweep (or joins the one running) and waits for it at most <paramref name="maxWait"/>:
    /// its report when it finished, null while it still runs (ask again). Interleaves, so a long
    /// sweep holds no caller past the call timeout.
    /// </summary>
    [AlwaysInterleave, Alias("SweepNow")]
    Task<SweepReport?> SweepNowAsync(TimeSpan maxWait);

    /// <summary>
    /// As <see cref="SweepNowAsync(TimeSpan)"/> for a caller that first asked at
    /// <paramref name="askedAt"/> and asks again because the sweep outlasted its wait: the sweep
    /// running since before then is joined, not followed by a new one that would find nothing
    /// left and report 0 deleted.
    /// </summary>
    [AlwaysInterleave, Alias("SweepNowAskedAt")]
    Task<SweepReport?> SweepNowAsync(TimeSpan maxWait, DateTimeOffset askedAt);

    /// <summary>Registers (or updates) the sweep's reminder to the configured schedule. Idempotent.</summary>
    [Alias("EnsureScheduled")]
    Task EnsureScheduledAsync();
}
