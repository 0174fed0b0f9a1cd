using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ResultGrid.Hosting;
using ResultGrid.Storage;
using ResultGrid.Storage.Migration;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

namespace ResultGrid.Bench;

/// <summary>
/// `resultgrid migrate`'s engine, Redis to PostgreSQL, on the servers scripts/bench.sh starts:
/// results copied per second, page pipeline, imports and state file included, verify not.
/// The peer, in the same run on the same servers: the drivers alone (SCAN + MGET with
/// StackExchange.Redis, binary COPY of the raw documents with Npgsql, no decoding, no conflict
/// handling, no TTLs), the least any copy between the two must do.
/// </summary>
internal static class MigrationBench
{
    /// <summary>The copy's and the peer's rates, and what each process kind spent on them (<see cref="ProcessCpu"/>).</summary>
    public sealed record Figures(List<double> Copy, List<double> Peer, Dictionary<string, List<double>> CopyCpu, Dictionary<string, List<double>> PeerCpu);

    public static async Task<Figures> RunAsync(string redisUrl, string pgUrl, int count, int rounds, TimeSpan warmUp)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddRedisResultStore();
        services.AddSqlResultStore();
        services.AddSingleton<ResultStoreProviderRegistry>();
        await using var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<ResultStoreProviderRegistry>();
        var source = registry.Create(provider, "bench-source", redisUrl);
        var target = registry.Create(provider, "bench-target", pgUrl);
        await source.InitializeAsync(CancellationToken.None);
        await target.InitializeAsync(CancellationToken.None);

        // Results as a worker leaves them: a small JSON value, extended fields, a day to live.
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, count).Select(i => $"mig-{i:D7}-{Guid.NewGuid():N}").ToArray();
        foreach (var chunk in ids.Chunk(2_000))
        {
            await Task.WhenAll(chunk.Select(id => source.WriteAsync(new TaskResult
            {
                TaskId = id,
                State = TaskStates.Success,
                Payload = new ResultPayload { Data = Encoding.UTF8.GetBytes($$"""{"total": {{id.Length}}, "rows": [1, 2, 3], "ok": true}"""), ContentType = "application/json", ContentEncoding = "utf-8" },
                DateDone = now,
                Name = "reports.build",
                Worker = "worker-1@bench",
                Queue = "celery",
                ExpiresAt = now.AddDays(1),
            }).AsTask()));
        }

        var (dataSource, _, _) = SqlConnections.Create(pgUrl, new SqlResultStoreOptions());
        await using (dataSource)
        {
            await using (var create = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS bench_raw_copy (key text, doc bytea)"))
            {
                await create.ExecuteNonQueryAsync();
            }

            var figures = new Figures([], [], [], []);
            // Untimed rounds of each first, by time as the store bench's warm-up: tiered JIT takes
            // seconds to settle, and one round (about a second) left most of the copy's code
            // unoptimised: measured 69,000-93,000 results/s after one round, 150,000-165,000 after six.
            var warming = Stopwatch.StartNew();
            var timed = 0;
            while (timed < rounds)
            {
                var warm = warming.Elapsed < warmUp;
                await Execute(dataSource, "TRUNCATE resultgrid_tasks, resultgrid_groups, bench_raw_copy CASCADE");
                var migration = new ResultMigration((IResultTransfer)source, (IResultTransfer)target, target, TimeProvider.System);
                var state = Path.Combine(Path.GetTempPath(), $"rg-bench-migrate-{Guid.NewGuid():N}.json");
                var cpu = ProcessCpu.Now();
                var clock = Stopwatch.StartNew();
                var done = await migration.CopyAsync(new MigrationState { From = redisUrl, To = pgUrl, StartedAt = now }, new MigrationSettings { StatePath = state }, null, CancellationToken.None);
                clock.Stop();
                var copyCpu = ProcessCpu.Since(cpu);
                File.Delete(state);
                if (done.ResultsAdded != count)
                {
                    throw new InvalidOperationException($"The copy added {done.ResultsAdded} of {count} results.");
                }

                cpu = ProcessCpu.Now();
                var peerRate = await RawCopyAsync(redisUrl, dataSource, count);
                var peerCpu = ProcessCpu.Since(cpu);
                if (!warm)
                {
                    timed++;
                    figures.Copy.Add(count / clock.Elapsed.TotalSeconds);
                    figures.Peer.Add(peerRate);
                    Add(figures.CopyCpu, copyCpu);
                    Add(figures.PeerCpu, peerCpu);
                }
            }

            await Execute(dataSource, "DROP TABLE bench_raw_copy; TRUNCATE resultgrid_tasks, resultgrid_groups CASCADE");
            return figures;

            // CPU milliseconds per 1,000 results, by process kind.
            void Add(Dictionary<string, List<double>> into, Dictionary<string, double> spent)
            {
                foreach (var (kind, ms) in spent)
                {
                    (into.TryGetValue(kind, out var list) ? list : into[kind] = []).Add(ms * 1000 / count);
                }
            }
        }
    }

    /// <summary>
    /// CPU time of this process and of the servers on this machine (every postgres and
    /// redis-server process, from /proc), so a run says where a copy's time goes: the machine has
    /// two cores, and the copy and its peer share them with the servers they drive.
    /// </summary>
    internal static class ProcessCpu
    {
        public static readonly string[] Kinds = ["dotnet", "postgres", "redis"];

        public static Dictionary<string, double> Now()
        {
            var ms = Kinds.ToDictionary(k => k, _ => 0.0);
            using (var self = Process.GetCurrentProcess())
            {
                ms["dotnet"] = self.TotalProcessorTime.TotalMilliseconds;
            }

            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out _))
                {
                    continue;
                }

                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var close = stat.LastIndexOf(')');
                    var name = stat[(stat.IndexOf('(') + 1)..close];
                    var kind = name == "postgres" ? "postgres" : name == "redis-server" ? "redis" : null;
                    if (kind is not null)
                    {
                        // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
                        var fields = stat[(close + 2)..].Split(' ');
                        ms[kind] += (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) * 10.0;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The process ended while being read: what it spent is not counted.
                }
            }

            return ms;
        }

        public static Dictionary<string, double> Since(Dictionary<string, double> before) =>
            Now().ToDictionary(p => p.Key, p => p.Value - before.GetValueOrDefault(p.Key));
    }

    private static async Task Execute(System.Data.Common.DbDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<double> RawCopyAsync(string redisUrl, System.Data.Common.DbDataSource dataSource, int expected)
    {
        var uri = new Uri(redisUrl);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}");
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var database = redis.GetDatabase();
        var clock = Stopwatch.StartNew();
        await using var connection = (NpgsqlConnection)await dataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync("COPY bench_raw_copy (key, doc) FROM STDIN (FORMAT BINARY)");
        var copied = 0;
        var page = new List<RedisKey>(1_000);
        async Task Flush()
        {
            var values = await database.StringGetAsync(page.ToArray());
            for (var i = 0; i < values.Length; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync((string)page[i]!, NpgsqlTypes.NpgsqlDbType.Text);
                await writer.WriteAsync((byte[])values[i]!, NpgsqlTypes.NpgsqlDbType.Bytea);
                copied++;
            }

            page.Clear();
        }

        await foreach (var key in server.KeysAsync(0, "celery-task-meta-*", pageSize: 1_000))
        {
            page.Add(key);
            if (page.Count == 1_000)
            {
                await Flush();
            }
        }

        await Flush();
        await writer.CompleteAsync();
        clock.Stop();
        if (copied < expected)
        {
            throw new InvalidOperationException($"The raw copy moved {copied} of {expected} documents.");
        }

        return copied / clock.Elapsed.TotalSeconds;
    }
}
