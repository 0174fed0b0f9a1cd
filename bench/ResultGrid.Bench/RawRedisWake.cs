using System.Diagnostics;
using StackExchange.Redis;

namespace ResultGrid.Bench;

/// <summary>
/// The peer of <c>redis.wake_latency_p50</c> / <c>_p99</c>, <c>raw-redis-set-publish</c>: the bare
/// driver stores a task's document and publishes it on the task's channel, and a subscriber
/// that was already listening there (Celery's client waits on this subscription) hears it. Timed
/// from the SET to the subscriber's handler, with the same 2 ms pause before it as the grain
/// sample, so both start from the same idle: the floor of any wake that goes through Redis on this driver.
/// </summary>
internal sealed class RawRedisWake : IAsyncDisposable
{
    public const string Name = "raw-redis-set-publish";

    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly RedisValue _document = RawRedisRate.Document;

    private RawRedisWake(ConnectionMultiplexer redis, int database)
    {
        _redis = redis;
        _db = redis.GetDatabase(database);
    }

    public static async Task<RawRedisWake> ConnectAsync(string url)
    {
        var uri = new Uri(url);
        var database = uri.AbsolutePath.Trim('/') is { Length: > 0 } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new RawRedisWake(await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}"), database);
    }

    /// <summary>One sample, ms: subscribed first (not timed), then SET and PUBLISH until the handler runs.</summary>
    public async Task<double> SampleAsync()
    {
        var key = $"celery-task-meta-{ResultGrid.TaskIds.NewId()}";
        var channel = RedisChannel.Literal(key);
        var heard = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = _redis.GetSubscriber();
        await subscriber.SubscribeAsync(channel, (_, _) => heard.TrySetResult(Stopwatch.GetTimestamp()));
        try
        {
            await Task.Delay(2);
            var start = Stopwatch.GetTimestamp();
            var set = _db.StringSetAsync(key, _document, TimeSpan.FromDays(1));
            var publish = _db.PublishAsync(channel, _document);
            var heardAt = await heard.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await Task.WhenAll(set, publish);
            return Stopwatch.GetElapsedTime(start, heardAt).TotalMilliseconds;
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
        }
    }

    public ValueTask DisposeAsync() => _redis.DisposeAsync();
}
