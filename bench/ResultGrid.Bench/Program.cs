using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResultGrid;
using ResultGrid.Bench;
using ResultGrid.Client;
using ResultGrid.Grains.Hosting;
using ResultGrid.Storage;
using StackExchange.Redis;

// scripts/bench.sh [--quick] [--backend SCHEME]. One silo in this process, the SDK co-hosted in
// it, so the figures are the grains' and the store's, not a network's.
var quick = args.Contains("--quick");
var backendIndex = Array.IndexOf(args, "--backend");
var scheme = backendIndex >= 0 && backendIndex + 1 < args.Length ? args[backendIndex + 1].Replace("://", "", StringComparison.Ordinal) : "memory";
string backendUrl;
switch (scheme)
{
    case "memory" or "rpc":
        backendUrl = scheme + "://";
        break;
    case "redis":
        // scripts/bench.sh starts a redis-server on a free loopback port and names it here.
        backendUrl = Environment.GetEnvironmentVariable("RESULTGRID_BENCH_REDIS") ?? "";
        if (backendUrl.Length == 0)
        {
            await Console.Error.WriteLineAsync("--backend redis needs RESULTGRID_BENCH_REDIS (redis://127.0.0.1:PORT/0); scripts/bench.sh sets it.");
            return 2;
        }

        break;
    default:
        await Console.Error.WriteLineAsync($"--backend {scheme}: supported are memory, rpc and redis.");
        return 2;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), clusterId: "bench", serviceId: "bench");
    silo.Services.AddRedisResultStore();
    silo.AddResultGrid(o => o.Backend = backendUrl);
    silo.Services.Configure<ResultGrid.Serialization.ResultSerializationOptions>(o => o.AcceptContent = ["json", "msgpack", "raw"]);
    silo.AddMemoryGrainStorage(PeerResultGrain.StorageName);
});
using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<IResultGridClient>();

var rounds = quick ? 3 : 5;
var perRound = quick ? 20_000 : 100_000;
var samples = quick ? 300 : 2_000;

// Store rate: MarkSucceeded through the result grains, many in flight, as workers would.
// Warm-up by time, not count: tiered JIT needs seconds to settle, and a short run measures the
// unoptimised code (a 5,000-result warm-up read 13,000 results/s where a settled run reads 100,000).
var warmUp = Stopwatch.StartNew();
while (warmUp.Elapsed < TimeSpan.FromSeconds(quick ? 4 : 8))
{
    await StoreRate.RunAsync(client, 10_000, InFlight());
}
var rates = new List<double>();
for (var r = 0; r < rounds; r++)
{
    rates.Add(await StoreRate.RunAsync(client, perRound, InFlight()));
}

if (scheme == "redis")
{
    // Peers on the same redis-server in the same run: Celery's RedisBackend.store_result (one
    // worker process, as Celery calls it), and the driver alone (SET with a TTL, same document
    // size, same concurrency): the ceiling any Redis result backend on this driver can reach.
    var celery = CeleryStoreRate(backendUrl, quick ? 3_000 : 10_000);
    Emit("redis.store_rate_grains", scheme, Median(rates), "results/s", "celery-redis", celery is null ? null : Math.Round(celery.Value, 3));
    var raw = await RawRedisRate.RunAsync(backendUrl, rounds, perRound, InFlight());
    Emit("redis.store_rate_grains_vs_driver", scheme, Median(rates), "results/s", "raw-redis", Math.Round(raw, 3));
}
else
{
    // Peer: the generic Orleans way, a grain per result with IPersistentState on Orleans' memory
    // grain storage (reads storage on activation, writes the whole state), deactivated after the
    // write like ours. Same payload, same concurrency, same process.
    var grains = host.Services.GetRequiredService<IGrainFactory>();
    warmUp.Restart();
    while (warmUp.Elapsed < TimeSpan.FromSeconds(quick ? 2 : 4))
    {
        await PeerRate.RunAsync(grains, 10_000, InFlight());
    }

    var peerRates = new List<double>();
    for (var r = 0; r < rounds; r++)
    {
        peerRates.Add(await PeerRate.RunAsync(grains, perRound, InFlight()));
    }

    Emit($"{scheme}.store_rate_grains", scheme, Median(rates), "results/s", "orleans-persistent-state-memory", Math.Round(Median(peerRates), 3));
}

// Write-to-waiter latency: a waiter is parked in the grain, then the write is timed until the
// waiter's await completes.
var latencies = await WakeLatency.RunAsync(client, samples);
Emit($"{scheme}.wake_latency_p50", scheme, Percentile(latencies, 0.50), "ms");
Emit($"{scheme}.wake_latency_p99", scheme, Percentile(latencies, 0.99), "ms");

// Groups: from the last child's write to JoinAsync returning, for a 10,000-task group; and
// groups of 10 completed (saved, written, joined) per second.
{
    var joinTimes = new List<double>();
    string? lastGroup = null;
    for (var r = 0; r < (quick ? 2 : 4); r++)
    {
        var gid = $"bench-group-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 10_000).Select(i => $"{gid}-{i}").ToArray();
        await client.SaveGroupAsync(gid, ids);
        var join = client.JoinAsync<int>(gid, TimeSpan.FromSeconds(120));
        var options = new ResultWriteOptions { GroupId = gid };
        await Rate.RunAsync(ids.Length - 1, InFlight(), id => client.MarkSucceededAsync($"{gid}-{id[(id.LastIndexOf('-') + 1)..]}", 1, options));
        var last = Stopwatch.GetTimestamp();
        await client.MarkSucceededAsync(ids[^1], 1, options);
        var values = await join;
        joinTimes.Add(Stopwatch.GetElapsedTime(last).TotalMilliseconds);
        if (values.Count != ids.Length)
        {
            throw new InvalidOperationException($"join returned {values.Count} of {ids.Length}");
        }

        lastGroup = gid;
    }

    var celeryJoin = scheme == "redis" && lastGroup is not null ? CeleryJoinMs(backendUrl, lastGroup) : null;
    Emit($"{scheme}.group_join_10000", scheme, Median(joinTimes), "ms", celeryJoin is null ? null : "celery-redis", celeryJoin is null ? null : Math.Round(celeryJoin.Value, 3));

    var groupCount = quick ? 300 : 1_000;
    var groupsPerSecond = await Rate.RunAsync(groupCount, 32, async gid =>
    {
        var children = Enumerable.Range(0, 10).Select(i => $"{gid}-{i}").ToArray();
        await client.SaveGroupAsync(gid, children);
        var options = new ResultWriteOptions { GroupId = gid };
        await Task.WhenAll(children.Select(c => client.MarkSucceededAsync(c, 1, options)));
        await client.JoinAsync<int>(gid, TimeSpan.FromSeconds(30));
    });
    Emit($"{scheme}.groups_of_10_per_second", scheme, groupsPerSecond, "groups/s");
}

if (args.Contains("--codecs"))
{
    // Per codec and compression, for results of 100 B, 10 KB and 1 MB of repetitive records:
    // the store rate through the grains (peer: the same codec uncompressed, in the same run) and
    // the stored size as a fraction of the JSON-encoded size.
    var serializer = host.Services.GetRequiredService<ResultGrid.Serialization.ResultSerializer>();
    var store = host.Services.GetRequiredService<ResultGrid.Grains.ResultStores>().Default;
    foreach (var (label, items) in new[] { ("100B", 2), ("10KB", 180), ("1MB", 18_000) })
    {
        var value = Enumerable.Range(0, items).Select(i => new CodecRecord(i, "SUCCESS", $"w{i % 8}@host")).ToArray();
        var jsonBytes = serializer.Serialize(value, "json", "none").Data.Length;
        var count = label switch { "100B" => quick ? 5_000 : 20_000, "10KB" => quick ? 1_000 : 4_000, _ => quick ? 20 : 60 };
        foreach (var codec in new[] { "json", "msgpack" })
        {
            // Rounds in rotated order, medians per compression: a fixed order let the machine's
            // drift over a run read as a difference between compressions.
            string[] compressions = ["none", "gzip", "brotli", "zstd"];
            var measured = compressions.ToDictionary(c => c, _ => new List<double>());
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < compressions.Length; k++)
                {
                    var compression = compressions[(k + round) % compressions.Length];
                    var options = new ResultWriteOptions { Serializer = codec, Compression = compression };
                    await Rate.RunAsync(Math.Max(10, count / 10), InFlight(), id => client.MarkSucceededAsync(id, value, options)); // warm-up
                    measured[compression].Add(await Rate.RunAsync(count, label == "1MB" ? 8 : InFlight(), id => client.MarkSucceededAsync(id, value, options)));
                }
            }

            foreach (var compression in compressions)
            {
                var name = $"{scheme}.{codec}_{compression}.{label}";
                Emit($"{name}.store_rate", scheme, Median(measured[compression]), "results/s",
                    compression == "none" ? null : $"{codec}_none", compression == "none" ? null : Math.Round(Median(measured["none"]), 3));

                var probe = $"size-{Guid.NewGuid():N}";
                await client.MarkSucceededAsync(probe, value, new ResultWriteOptions { Serializer = codec, Compression = compression });
                var stored = (await store.ReadAsync(probe))!.Payload!.Data.Length;
                Emit($"{name}.size_ratio", scheme, (double)stored / jsonBytes, "ratio");
            }
        }
    }
}

await host.StopAsync();
return 0;

static void Emit(string name, string backend, double value, string unit, string? peer = null, double? peerValue = null) =>
    Console.WriteLine(JsonSerializer.Serialize(new { name, backend, value = Math.Round(value, 3), unit, peer, peer_value = peerValue }));

static double Median(List<double> values) => Percentile(values, 0.5);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToArray();
    var index = (int)Math.Ceiling(p * sorted.Length) - 1;
    return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
}

static double? CeleryStoreRate(string url, int count) =>
    CeleryPeer("celery_store_rate.py", "rate", url, count.ToString(System.Globalization.CultureInfo.InvariantCulture));

static double? CeleryJoinMs(string url, string groupId) => CeleryPeer("celery_join.py", "ms", url, groupId);

// Runs one of the Celery peer scripts with Debian's python3 (where python3-celery lives) and
// reads one number from the JSON line it prints; null, with the reason on stderr, if it fails.
static double? CeleryPeer(string script, string field, params string[] arguments)
{
    var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, script));
    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    using var process = Process.Start(info)!;
    var error = process.StandardError.ReadToEndAsync();
    var output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        Console.Error.WriteLine($"celery-redis peer {script} failed (install python3-celery and python3-redis): {error.Result}");
        return null;
    }

    return JsonDocument.Parse(output).RootElement.GetProperty(field).GetDouble();
}

static int InFlight() => int.TryParse(Environment.GetEnvironmentVariable("BENCH_INFLIGHT"), out var n) ? n : 256;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

namespace ResultGrid.Bench
{
    /// <summary>Runs <c>count</c> operations with <c>inFlight</c> of them outstanding at a time; returns operations per second.</summary>
    internal static class Rate
    {
        public static async Task<double> RunAsync(int count, int inFlight, Func<string, Task> operation)
        {
            var prefix = Guid.NewGuid().ToString("N");
            var next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    await operation($"{prefix}-{i}");
                }
            }));
            return count / clock.Elapsed.TotalSeconds;
        }
    }

    internal static class StoreRate
    {
        private static readonly Payload Value = new("done", 42, [1, 2, 3]);

        public static Task<double> RunAsync(IResultGridClient client, int count, int inFlight) =>
            Rate.RunAsync(count, inFlight, id => client.MarkSucceededAsync(id, Value));
    }

    internal static class WakeLatency
    {
        public static async Task<List<double>> RunAsync(IResultGridClient client, int samples)
        {
            var result = new List<double>(samples);
            for (var i = 0; i < samples + 50; i++)
            {
                var id = TaskIds.NewId();
                var woke = client.WaitAsync<int>(id, TimeSpan.FromSeconds(10))
                    .ContinueWith(_ => Stopwatch.GetTimestamp(), TaskContinuationOptions.ExecuteSynchronously);

                // Give the wait call time to reach the grain and park; the write is timed from here.
                await Task.Delay(2);
                var start = Stopwatch.GetTimestamp();
                await client.MarkSucceededAsync(id, i);
                var wokeAt = await woke;
                if (i >= 50)
                {
                    result.Add(Stopwatch.GetElapsedTime(start, wokeAt).TotalMilliseconds);
                }
            }

            return result;
        }
    }

    [GenerateSerializer, Immutable]
    public sealed record Payload([property: Id(0)] string Status, [property: Id(1)] int Code, [property: Id(2)] int[] Items);

    public sealed record CodecRecord(int Id, string Status, string Worker);

    internal static class RawRedisRate
    {
        public static async Task<double> RunAsync(string url, int rounds, int perRound, int inFlight)
        {
            var uri = new Uri(url);
            await using var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}");
            var db = redis.GetDatabase();

            // A document of the same size as the one ResultGrid writes for the benchmark payload.
            var doc = (RedisValue)"""{"status":"SUCCESS","result":{"Status":"done","Code":42,"Items":[1,2,3]},"traceback":null,"children":[],"date_done":"2026-11-24T10:16:23.442966","task_id":"00000000000000000000000000000000-000000","rg_expires_at_ms":1795000000000}""";
            await Rate.RunAsync(10_000, inFlight, id => db.StringSetAsync($"celery-task-meta-{id}", doc, TimeSpan.FromDays(1))); // warm-up
            var rates = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                rates.Add(await Rate.RunAsync(perRound, inFlight, id => db.StringSetAsync($"celery-task-meta-{id}", doc, TimeSpan.FromDays(1))));
            }

            rates.Sort();
            return rates[rates.Count / 2];
        }
    }

    internal static class PeerRate
    {
        private static readonly Payload Value = new("done", 42, [1, 2, 3]);

        public static Task<double> RunAsync(IGrainFactory grains, int count, int inFlight) =>
            Rate.RunAsync(count, inFlight, id => grains.GetGrain<IPeerResultGrain>(id).SetAsync(Value));
    }

    public interface IPeerResultGrain : IGrainWithStringKey
    {
        Task SetAsync(Payload value);
    }

    [GenerateSerializer]
    public sealed class PeerState
    {
        [Id(0)] public string State { get; set; } = "PENDING";
        [Id(1)] public Payload? Value { get; set; }
        [Id(2)] public DateTimeOffset? DateDone { get; set; }
    }

    internal sealed class PeerResultGrain([PersistentState("result", PeerResultGrain.StorageName)] IPersistentState<PeerState> state) : Grain, IPeerResultGrain
    {
        public const string StorageName = "peer";

        public async Task SetAsync(Payload value)
        {
            state.State.State = "SUCCESS";
            state.State.Value = value;
            state.State.DateDone = DateTimeOffset.UtcNow;
            await state.WriteStateAsync();
            DeactivateOnIdle();
        }
    }
}
