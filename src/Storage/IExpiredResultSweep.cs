namespace ResultGrid.Storage;

/// <summary>
/// Optional store capability, for stores without native expiry (the SQL backends): delete what
/// has expired, in bounded batches on the expires-at index, so a sweep never holds long locks
/// and writers carry on beside it. Reads already hide expired rows; this frees their space.
/// </summary>
public interface IExpiredResultSweep : IResultStoreCapability
{
    /// <summary>
    /// Deletes at most <paramref name="limit"/> results (and, in the same call, as many groups and
    /// claims) that expired at or before <paramref name="now"/>. Returns the results deleted; fewer
    /// than the limit means none are left.
    /// </summary>
    ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    /// <summary>The earliest expiry among results still stored although expired at <paramref name="now"/>; null when there are none.</summary>
    ValueTask<DateTimeOffset?> OldestExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}
