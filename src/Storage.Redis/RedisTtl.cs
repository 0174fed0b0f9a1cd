namespace ResultGrid.Storage.Redis;

/// <summary>
/// How an expiry instant becomes a Redis TTL, for every command that sets one (the write
/// script's <c>SET … PX</c>, a group's and a claim's <c>SET</c>, the imports' <c>SET … NX</c>,
/// the expire script's <c>PEXPIRE</c>): the whole milliseconds left, the fraction cut off, and
/// never less than 1 ms. Redis refuses a TTL of 0 in SET ("invalid expire time") and deletes the
/// key at once for one of 0 or less in PEXPIRE, so a result that is already expired when it is
/// written is still stored, and lives 1 ms: the write is acknowledged as the store's answer, and
/// every read checks the recorded expiry too, so it is never returned.
/// </summary>
internal static class RedisTtl
{
    /// <summary>What the write script takes for "no TTL": its <c>ttl &gt; 0</c> test sets none.</summary>
    public const long None = 0;

    private const long MinimumMilliseconds = 1;

    /// <summary>The TTL in milliseconds for the Lua scripts; <see cref="None"/> without an expiry.</summary>
    public static long Milliseconds(DateTimeOffset? expiresAt, DateTimeOffset now) =>
        expiresAt is { } at ? Math.Max(MinimumMilliseconds, (long)(at - now).TotalMilliseconds) : None;

    /// <summary>The TTL for StackExchange.Redis' SET; null (a key without a TTL) without an expiry.</summary>
    public static TimeSpan? Of(DateTimeOffset? expiresAt, DateTimeOffset now) =>
        expiresAt is null ? null : TimeSpan.FromMilliseconds(Milliseconds(expiresAt, now));

    /// <summary>
    /// True when <paramref name="expiresAt"/> has come: a copy (an import) leaves such a result
    /// out rather than write a key only for it to vanish, which a task's own write must not.
    /// </summary>
    public static bool HasPassed(DateTimeOffset? expiresAt, DateTimeOffset now) => expiresAt <= now;
}
