namespace ResultGrid.Storage.Redis;

/// <summary>
/// How the Redis store coalesces writes (<see cref="RedisResultStoreOptions.CoalesceWrites"/> and
/// its siblings, after the URL's parameters): on or off, how long a batch waits for more, how
/// many writes one script call carries, and how many such calls are in flight at once.
/// </summary>
internal sealed record RedisWriteBatching(bool Enabled, TimeSpan Window, int MaxSize, int Writers)
{
    /// <summary>
    /// A batch closes once its documents reach this many bytes, whatever its count: one script
    /// call's arguments are held whole by the server while it runs, and 4 MiB (the SQL batches'
    /// default cap) keeps a burst of large results from making one call of hundreds of megabytes.
    /// </summary>
    public const long MaxBytes = 4 * 1024 * 1024;
}
