using Orleans.Concurrency;
using ResultGrid.Client;
using StackExchange.Redis;

namespace ResultGrid.Bench;

/// <summary>
/// The peers of the read line: <c>raw-redis-get</c>, the driver alone reading the same keys at
/// the same concurrency (the ceiling of any Redis read path on this driver), and
/// <c>orleans-empty-call</c>, a grain call that does nothing (the floor of any grain path).
/// </summary>
internal static class ReadBench
{
    /// <summary>
    /// Bare StackExchange.Redis GETs of the keys the read line read (Celery's
    /// <c>celery-task-meta-ID</c>), <paramref name="inFlight"/> outstanding at a time, as the
    /// read line's callers are: the median of <paramref name="rounds"/> rounds, reads/s.
    /// </summary>
    public static async Task<double> RawRedisGetAsync(string url, string[] taskIds, int rounds, int inFlight)
    {
        var uri = new Uri(url);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}");
        var db = redis.GetDatabase(uri.AbsolutePath.Trim('/') is { Length: > 0 } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 0);
        var keys = taskIds.Select(id => (RedisKey)$"celery-task-meta-{id}").ToArray();
        var rates = new List<double>();
        for (var r = 0; r <= rounds; r++)
        {
            var i = -1;
            var rate = await Rate.RunAsync(keys.Length, inFlight, async _ =>
            {
                if ((await db.StringGetAsync(keys[Interlocked.Increment(ref i)])).IsNull)
                {
                    throw new InvalidOperationException("raw-redis-get read a key that is not there: the peer must read what the read line read.");
                }
            });

            // The first round warms the connection and the JIT, as the read line's store rounds did.
            if (r > 0)
            {
                rates.Add(rate);
            }
        }

        return Bench.Median(rates);
    }

    /// <summary>
    /// Calls to a stateless worker grain that returns at once, from the co-hosted SDK's process,
    /// <paramref name="inFlight"/> outstanding: what a grain call costs before it does anything.
    /// </summary>
    public static async Task<double> EmptyCallsAsync(IGrainFactory grains, int rounds, int perRound, int inFlight)
    {
        var grain = grains.GetGrain<IEmptyCallGrain>(0);
        await Rate.RunAsync(perRound, inFlight, _ => grain.CallAsync()); // warm-up
        var rates = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            rates.Add(await Rate.RunAsync(perRound, inFlight, _ => grain.CallAsync()));
        }

        return Bench.Median(rates);
    }
}

/// <summary>The read line's loop: results stored by id, then read back through the SDK (the silo's reader).</summary>
internal static class ReadRate
{
    /// <summary>Stores <paramref name="count"/> SUCCESS results through <paramref name="client"/>; their ids.</summary>
    public static async Task<string[]> SeedAsync(IResultGridClient client, int count, int inFlight)
    {
        var ids = Enumerable.Range(0, count).Select(_ => TaskIds.NewId()).ToArray();
        var next = -1;
        await Rate.RunAsync(count, inFlight, _ => client.MarkSucceededAsync(ids[Interlocked.Increment(ref next)], 7));
        return ids;
    }

    /// <summary>Reads the first <paramref name="count"/> of <paramref name="ids"/>, each must be SUCCESS; reads/s.</summary>
    public static Task<double> RunAsync(IResultGridClient client, string[] ids, int count, int inFlight)
    {
        var i = -1;
        return Rate.RunAsync(count, inFlight, async _ =>
        {
            var read = await client.GetAsync(ids[Interlocked.Increment(ref i)]);
            if (read.State != TaskStates.Success)
            {
                throw new InvalidOperationException($"read {read.TaskId} as {read.State}");
            }
        });
    }
}

/// <summary>The grain of <c>orleans-empty-call</c>: one method that does nothing.</summary>
public interface IEmptyCallGrain : IGrainWithIntegerKey
{
    Task CallAsync();
}

/// <summary>
/// Placed like the result reader (a stateless worker on the receiving silo, calls interleaved),
/// so the difference between the two lines is the reader's work, not Orleans' placement.
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class EmptyCallGrain : Grain, IEmptyCallGrain
{
    public Task CallAsync() => Task.CompletedTask;
}
