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
    public static async Task<double> RunAsync(string url, int rounds, int perRound, int inFlight)
    {
        var uri = new Uri(url);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}");
        var db = redis.GetDatabase();
        var script = LuaScript.Prepare(RedisWriteScript.Text);
        var doc = (RedisValue)RawRedisRate.Document;
        var ttl = (long)TimeSpan.FromDays(1).TotalMilliseconds;
        Task Write(string id) => db.ScriptEvaluateAsync(script, new { key = (RedisKey)$"celery-task-meta-{id}", doc, ttl });

        await Rate.RunAsync(10_000, inFlight, Write); // warm-up, and the script loaded
        var rates = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            rates.Add(await Rate.RunAsync(perRound, inFlight, Write));
        }

        rates.Sort();
        return rates[rates.Count / 2];
    }
}
