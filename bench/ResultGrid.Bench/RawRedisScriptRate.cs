using ResultGrid.Storage.Redis;
using StackExchange.Redis;

namespace ResultGrid.Bench;

/// <summary>
/// Peer raw-redis-script: the store's own never-replace-SUCCESS write script (its GET, check,
/// SET with a TTL and PUBLISH) from bare StackExchange.Redis, one EVALSHA per result, with as many
/// results in flight as the grains line: what a write with ResultGrid's rules costs the driver
/// and the server when each result goes alone, without grains and without coalescing.
/// </summary>
internal static class RawRedisScriptRate
{
    public static Task<RawRedisPeer> OpenAsync(string url, int inFlight)
    {
        var script = LuaScript.Prepare(RedisWriteScript.Text);
        var doc = (RedisValue)RawRedisRate.Document;
        var ttl = (long)TimeSpan.FromDays(1).TotalMilliseconds;
        return RawRedisPeer.OpenAsync(url, inFlight, (db, id) => db.ScriptEvaluateAsync(script, new { key = (RedisKey)$"celery-task-meta-{id}", doc, ttl }));
    }
}
