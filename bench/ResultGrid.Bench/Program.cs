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
using ResultGrid.Hosting;
using ResultGrid.Storage;
using StackExchange.Redis;

// scripts/bench.sh [--quick] [--backend SCHEME]. One silo in this process, the SDK co-hosted in
// it, so the figures are the grains' and the store's, not a network's.
if (args is ["--http-waiters", var waitPrefix, var waitCount])
{
    // The child process of the --http open-waits benchmark (HttpBench.OpenWaitsAsync).
    return await HttpBench.WaitersAsync(waitPrefix, int.Parse(waitCount, System.Globalization.CultureInfo.InvariantCulture));
}

if (args is [IdleMemoryBench.ChildFlag, var idleUrl, var idleCount])
{
    // The child silo of <backend>.rss_mb_per_million_idle (IdleMemoryBench.cs).
    return await IdleMemoryBench.ChildAsync(idleUrl, int.Parse(idleCount, System.Globalization.CultureInfo.InvariantCulture));
}

var quick = args.Contains("--quick");
if (args.Contains("--dashboard"))
{
    // The results dashboard against the Hangfire Dashboard, its live updates in Debian's
    // chromium, and the cost of the state history on PostgreSQL and Redis: DashboardBench.cs.
    return await DashboardBench.RunAsync(quick);
}

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
    case "postgresql" or "mysql":
        // scripts/bench.sh starts the server (initdb / mariadb-install-db on a free port) and names it here.
        backendUrl = Environment.GetEnvironmentVariable("RESULTGRID_BENCH_SQL") ?? "";
        if (backendUrl.Length == 0)
        {
            await Console.Error.WriteLineAsync($"--backend {scheme} needs RESULTGRID_BENCH_SQL (db+{scheme}://user@127.0.0.1:PORT/db); scripts/bench.sh sets it.");
            return 2;
        }

        break;
    case GrainStorageBench.Scheme:
        // grainstorage:// on Orleans' ADO.NET storage against IPersistentState on the same
        // storage and db+postgresql on the same server (GrainStorageBench.cs); scripts/bench.sh starts the PostgreSQL.
        backendUrl = Environment.GetEnvironmentVariable("RESULTGRID_BENCH_SQL") ?? "";
        if (!backendUrl.StartsWith("db+postgresql://", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"--backend {scheme} needs a db+postgresql:// RESULTGRID_BENCH_SQL; scripts/bench.sh sets it.");
            return 2;
        }

        return await GrainStorageBench.RunAsync(backendUrl, quick);
    case "sqlite":
        backendUrl = "db+sqlite:///" + Path.Combine(Directory.CreateTempSubdirectory("rg-bench-").FullName, "results.db");
        break;
    default:
        await Console.Error.WriteLineAsync($"--backend {scheme}: supported are memory, rpc, redis, postgresql, mysql, sqlite and grainstorage-adonet.");
        return 2;
}

if (args.Contains("--http"))
{
    // The HTTP API (ResultGrid.Http) in a WebApplication that is also the silo: HttpBench.cs.
    return await HttpBench.RunAsync(scheme, backendUrl, quick);
}

if (args.Contains("--migrate"))
{
    // Migration, Redis to PostgreSQL: scripts/bench.sh --migrate starts both servers.
    var (redisUrl, sqlUrl) = (Environment.GetEnvironmentVariable("RESULTGRID_BENCH_REDIS") ?? "", Environment.GetEnvironmentVariable("RESULTGRID_BENCH_SQL") ?? "");
    if (redisUrl.Length == 0 || !sqlUrl.StartsWith("db+postgresql://", StringComparison.Ordinal))
    {
        await Console.Error.WriteLineAsync("--migrate needs RESULTGRID_BENCH_REDIS and a db+postgresql:// RESULTGRID_BENCH_SQL; scripts/bench.sh --migrate sets both.");
        return 2;
    }

    var figures = await MigrationBench.RunAsync(redisUrl, sqlUrl, quick ? 50_000 : 100_000, quick ? 2 : 3, TimeSpan.FromSeconds(quick ? 4 : 8));
    Emit("migrate.redis_to_postgresql", "redis->postgresql", Median(figures.Copy), "results/s", "raw-scan-mget-copy", Math.Round(Median(figures.Peer), 3));
    // Where each side's time went: CPU ms per 1,000 results of this process, PostgreSQL and Redis, median over the timed rounds.
    foreach (var kind in MigrationBench.ProcessCpu.Kinds)
    {
        Emit($"migrate.cpu_ms_per_1000.{kind}", "redis->postgresql", Median(figures.CopyCpu[kind]), "ms", "raw-scan-mget-copy", Math.Round(Median(figures.PeerCpu[kind]), 3));
    }

    return 0;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), clusterId: "bench", serviceId: "bench");
    silo.UseInMemoryReminderService();
    silo.Services.AddRedisResultStore();
    silo.Services.AddSqlResultStore();
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
// On Redis the bare-driver peers run a round after each of ours: a ratio of rounds run side by
// side, not of phases minutes apart on a machine whose speed wanders.
await using var rawPeer = scheme == "redis" ? await RawRedisRate.OpenAsync(backendUrl, InFlight()) : null;
await using var scriptPeer = scheme == "redis" ? await RawRedisScriptRate.OpenAsync(backendUrl, InFlight()) : null;
var rates = new List<double>();
var (setRates, scriptRates) = (new List<double>(), new List<double>());
for (var r = 0; r < rounds; r++)
{
    rates.Add(await StoreRate.RunAsync(client, perRound, InFlight()));
    if (rawPeer is not null && scriptPeer is not null)
    {
        setRates.Add(await rawPeer.RoundAsync(perRound, InFlight()));
        scriptRates.Add(await scriptPeer.RoundAsync(perRound, InFlight()));
    }
}

if (scheme == "redis")
{
    // Peers on the same redis-server in the same run: Celery's RedisBackend.store_result (one
    // worker process per core, Celery's prefork default), the driver alone (SET with a TTL, same
    // document size, same concurrency): the ceiling any Redis result backend on this driver can
    // reach, and our write script from the bare driver, one call per result (RawRedisScriptRate.cs).
    var celery = CeleryStoreRate(backendUrl, quick ? 3_000 : 10_000);
    Emit("redis.store_rate_grains", scheme, Median(rates), "results/s", "celery-redis", celery is null ? null : Math.Round(celery.Value, 3));
    Emit("redis.store_rate_grains_vs_driver", scheme, Median(rates), "results/s", "raw-redis", Math.Round(Median(setRates), 3));
    Emit("redis.store_rate_grains_vs_script", scheme, Median(rates), "results/s", "raw-redis-script", Math.Round(Median(scriptRates), 3));
}
else if (scheme is "postgresql" or "mysql" or "sqlite")
{
    // Peers on the same PostgreSQL in the same run: Celery's DatabaseBackend.store_result
    // (SQLAlchemy + psycopg2, one worker process per core), and pgbench with 8 clients doing single-row
    // upserts into a copy of the results table (same columns and indexes), the database alone.
    double? celery = null, pgbench = null;
    if (scheme == "postgresql")
    {
        celery = CeleryStoreRate(backendUrl, quick ? 1_000 : 3_000);
        pgbench = PgBenchUpsertRate(backendUrl, quick ? 10 : 20);
    }

    Emit($"{scheme}.store_rate_grains", scheme, Median(rates), "results/s", celery is null ? null : "celery-db", celery is null ? null : Math.Round(celery.Value, 3));
    if (pgbench is not null)
    {
        Emit($"{scheme}.store_rate_grains_vs_pgbench", scheme, Median(rates), "results/s", "pgbench-upsert", Math.Round(pgbench.Value, 3));
    }
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

// Reads by id through the result grains, of results stored just before (rpc:// hands a result
// out once, so it has no repeated reads to measure).
if (scheme != "rpc")
{
    var stored = await ReadRate.SeedAsync(client, quick ? 20_000 : 50_000, InFlight());
    // A first round warms the JIT on the read path, as the store's warm-up and raw-redis-get's first round do.
    await ReadRate.RunAsync(client, stored, stored.Length, InFlight());
    var readRates = new List<double>();
    for (var r = 0; r < rounds; r++)
    {
        readRates.Add(await ReadRate.RunAsync(client, stored, stored.Length, InFlight()));
    }

    // On Redis its peer is the driver alone reading the same keys at the same concurrency (ReadBench.cs).
    var rawGet = scheme == "redis" ? await ReadBench.RawRedisGetAsync(backendUrl, stored, rounds, InFlight()) : (double?)null;
    Emit($"{scheme}.read_rate", scheme, Median(readRates), "reads/s", rawGet is null ? null : "raw-redis-get", rawGet is null ? null : Math.Round(rawGet.Value, 3));
}

// The floor of any grain path: a call that does nothing, same concurrency (ReadBench.cs).
Emit("orleans-empty-call", scheme, await ReadBench.EmptyCallsAsync(host.Services.GetRequiredService<IGrainFactory>(), rounds, perRound, InFlight()), "calls/s");

// Write-to-waiter latency: a waiter is parked in the grain, then the write is timed until the
// waiter's await completes. On Redis each sample is followed by one of the peer raw-redis-set-publish:
// the bare driver's SET and PUBLISH, timed until a subscriber already listening on the task's
// channel hears it, the floor of any wake through Redis (Celery's own waits are this subscription).
await using (var rawWake = scheme == "redis" ? await RawRedisWake.ConnectAsync(backendUrl) : null)
{
    var (latencies, peerLatencies) = await WakeLatency.RunAsync(client, samples, rawWake);
    var peerName = rawWake is null ? null : RawRedisWake.Name;
    Emit($"{scheme}.wake_latency_p50", scheme, Percentile(latencies, 0.50), "ms", peerName, rawWake is null ? null : Percentile(peerLatencies, 0.50));
    Emit($"{scheme}.wake_latency_p99", scheme, Percentile(latencies, 0.99), "ms", peerName, rawWake is null ? null : Percentile(peerLatencies, 0.99));
}

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

if (scheme == "postgresql")
{
    // Expiry at scale: expired rows put in directly (as a day of results would leave them), then
    // swept through the sweeper grain; writer latency measured without a sweep and during one.
    var expired = quick ? 200_000 : 1_000_000;
    var (database, _, _) = ResultGrid.Storage.Sql.SqlConnections.Create(backendUrl, new ResultGrid.Storage.Sql.SqlResultStoreOptions());
    await using (database)
    {
        await using var insert = database.CreateCommand(
            $"INSERT INTO resultgrid_tasks (task_id, state, updated_at, expires_at) SELECT 'expired-{Guid.NewGuid():N}-' || g, 'SUCCESS', now(), now() - interval '1 hour' FROM generate_series(1, {expired}) g");
        insert.CommandTimeout = 600;
        await insert.ExecuteNonQueryAsync();
    }

    var quiet = await WriterLatency.RunAsync(client, TimeSpan.FromSeconds(quick ? 3 : 8), null);
    var sweep = client.SweepExpiredAsync();
    var during = await WriterLatency.RunAsync(client, TimeSpan.FromSeconds(30), sweep);
    var report = await sweep;
    Emit($"{scheme}.sweep_expired_rows", scheme, report.Deleted / report.Duration.TotalSeconds, "rows/s");
    Emit($"{scheme}.writer_p99_during_sweep", scheme, Percentile(during, 0.99), "ms", "writer_p99_without_sweep", Math.Round(Percentile(quiet, 0.99), 3));
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

// Memory per idle result, in a silo process of its own (IdleMemoryBench.cs).
await IdleMemoryBench.RunAsync(scheme, backendUrl, quick ? 300_000 : 1_000_000);
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

// pgbench, 8 clients, single-row upserts into a copy of resultgrid_tasks (LIKE ... INCLUDING
// ALL): the same columns, indexes and never-replace-SUCCESS condition as our statement, one row
// per round trip. Returns transactions (= results) per second; null, with the reason, if it fails.
static double? PgBenchUpsertRate(string url, int seconds)
{
    var uri = new Uri(url.Replace("db+postgresql://", "postgresql://", StringComparison.Ordinal));
    var database = uri.AbsolutePath.Trim('/');
    var user = uri.UserInfo.Split(':')[0];
    var pgbench = Environment.GetEnvironmentVariable("PGBENCH") ?? "pgbench";
    var script = Path.Combine(Path.GetTempPath(), $"rg-pgbench-{Guid.NewGuid():N}.sql");
    File.WriteAllText(script, """
        \set id random(1, 1000000000000)
        INSERT INTO pgbench_tasks AS cur (task_id, state, payload, content_type, content_encoding, date_done, updated_at, expires_at)
        VALUES ('pgb-' || :id || '-' || :client_id, 'SUCCESS', '\x7b22537461747573223a22646f6e65222c22436f6465223a34322c224974656d73223a5b312c322c335d7d'::bytea,
                'application/json', 'utf-8', now(), now(), now() + interval '1 day')
        ON CONFLICT (task_id) DO UPDATE SET state = excluded.state, payload = excluded.payload, content_type = excluded.content_type,
          content_encoding = excluded.content_encoding, date_done = excluded.date_done, updated_at = excluded.updated_at, expires_at = excluded.expires_at
        WHERE cur.state <> 'SUCCESS' OR cur.expires_at <= excluded.updated_at;
        """);
    try
    {
        if (Run("psql", "-h", uri.Host, "-p", uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-c",
                "DROP TABLE IF EXISTS pgbench_tasks; CREATE TABLE pgbench_tasks (LIKE resultgrid_tasks INCLUDING ALL)") is null)
        {
            return null;
        }

        var output = Run(pgbench, "-n", "-c", "8", "-j", "2", "-T", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-f", script,
            "-h", uri.Host, "-p", uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", user, database);
        var line = output?.Split('\n').FirstOrDefault(l => l.StartsWith("tps = ", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
    }
    finally
    {
        File.Delete(script);
    }

    static string? Run(string file, params string[] arguments) => PeerProcess("pgbench-upsert peer", file, arguments);
}

// Runs a peer's program and returns what it printed; null, with the reason on stderr, if it failed.
static string? PeerProcess(string peer, string file, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
        Console.Error.WriteLine($"{peer}: {file} failed: {error.Result}");
        return null;
    }

    return output;
}

static double? CeleryJoinMs(string url, string groupId) => CeleryPeer("celery_join.py", "ms", url, groupId);

// Runs one of the Celery peer scripts with Debian's python3 (where python3-celery lives) and
// reads one number from the JSON line it prints; null, with the reason on stderr, if it fails.
static double? CeleryPeer(string script, string field, params string[] arguments) =>
    PeerProcess("Celery peer (install python3-celery with python3-redis, or python3-sqlalchemy and python3-psycopg2)",
        "/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, script), .. arguments]) is { } output
        ? JsonDocument.Parse(output).RootElement.GetProperty(field).GetDouble()
        : null;

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
        public static readonly Payload Value = new("done", 42, [1, 2, 3]);

        public static Task<double> RunAsync(IResultGridClient client, int count, int inFlight) =>
            Rate.RunAsync(count, inFlight, id => client.MarkSucceededAsync(id, Value));
    }

    /// <summary>Write latencies of 8 writers, each writing one result after another, for a time or until <c>until</c> completes.</summary>
    internal static class WriterLatency
    {
        public static async Task<List<double>> RunAsync(IResultGridClient client, TimeSpan duration, Task? until)
        {
            var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
            var clock = Stopwatch.StartNew();
            bool Running() => until is null ? clock.Elapsed < duration : !until.IsCompleted && clock.Elapsed < duration;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                while (Running())
                {
                    var start = Stopwatch.GetTimestamp();
                    await client.MarkSucceededAsync(TaskIds.NewId(), 1);
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }));
            return [.. latencies];
        }
    }

    internal static class WakeLatency
    {
        public static async Task<(List<double> Samples, List<double> PeerSamples)> RunAsync(IResultGridClient client, int samples, RawRedisWake? peer)
        {
            var result = new List<double>(samples);
            var peerResult = new List<double>(samples);
            for (var i = 0; i < samples + 50; i++)
            {
                if (peer is not null)
                {
                    var peerMs = await peer.SampleAsync();
                    if (i >= 50)
                    {
                        peerResult.Add(peerMs);
                    }
                }

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

            return (result, peerResult);
        }
    }

    [GenerateSerializer, Immutable]
    public sealed record Payload([property: Id(0)] string Status, [property: Id(1)] int Code, [property: Id(2)] int[] Items);

    public sealed record CodecRecord(int Id, string Status, string Worker);

    /// <summary>
    /// A bare-driver peer on the bench's redis-server, measured a round at a time between the
    /// grains' rounds, so each ratio is of rounds run side by side on this noisy machine.
    /// </summary>
    internal sealed class RawRedisPeer : IAsyncDisposable
    {
        private readonly ConnectionMultiplexer _redis;
        private readonly Func<IDatabase, string, Task> _write;

        private RawRedisPeer(ConnectionMultiplexer redis, Func<IDatabase, string, Task> write) => (_redis, _write) = (redis, write);

        /// <summary>Connects and warms up (10,000 writes: JIT, and a script loaded).</summary>
        public static async Task<RawRedisPeer> OpenAsync(string url, int inFlight, Func<IDatabase, string, Task> write)
        {
            var uri = new Uri(url);
            var peer = new RawRedisPeer(await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}"), write);
            await peer.RoundAsync(10_000, inFlight);
            return peer;
        }

        public Task<double> RoundAsync(int count, int inFlight)
        {
            var db = _redis.GetDatabase();
            return Rate.RunAsync(count, inFlight, id => _write(db, id));
        }

        public ValueTask DisposeAsync() => _redis.DisposeAsync();
    }

    internal static class RawRedisRate
    {
        // A document of the same size as the one ResultGrid writes for the benchmark payload.
        public const string Document = """{"status":"SUCCESS","result":{"Status":"done","Code":42,"Items":[1,2,3]},"traceback":null,"children":[],"date_done":"2026-11-24T10:16:23.442966","task_id":"00000000000000000000000000000000-000000","rg_expires_at_ms":1795000000000}""";

        private static readonly RedisValue Doc = Document;

        /// <summary>Peer raw-redis: one SET with a TTL per result, the ceiling of any Redis result backend on this driver.</summary>
        public static Task<RawRedisPeer> OpenAsync(string url, int inFlight) =>
            RawRedisPeer.OpenAsync(url, inFlight, (db, id) => db.StringSetAsync($"celery-task-meta-{id}", Doc, TimeSpan.FromDays(1)));
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
