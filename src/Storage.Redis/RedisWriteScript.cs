namespace ResultGrid.Storage.Redis;

/// <summary>
/// The Lua script the Redis store writes one result with, as text: for programs that write
/// results into the same Redis as the store does (and benchmarks that measure that write from
/// the bare driver), so that they keep its rules instead of a copy of them.
/// </summary>
internal static class RedisWriteScript
{
    /// <summary>
    /// The single-key write, in StackExchange.Redis' <c>LuaScript.Prepare</c> form with the named
    /// arguments <c>@key</c> (Celery's key, <c>[prefix]celery-task-meta-&lt;id&gt;</c>), <c>@doc</c>
    /// (the task meta document) and <c>@ttl</c> (milliseconds; 0 keeps the key without a TTL).
    /// It never replaces a stored SUCCESS (it returns that document instead, nil when it wrote),
    /// sets the document with the TTL, and publishes it on the channel named like the key, as
    /// Celery does.
    /// </summary>
    public static string Text => RedisResultStore.WriteScriptText;
}
