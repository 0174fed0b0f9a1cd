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
    public static async Task<(List<double> Copy, List<double> Peer)> RunAsync(string redisUrl, string pgUrl, int count, int rounds)
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

            var copy = new List<double>();
            var peer = new List<double>();
            // One untimed round of each first: tiered JIT.
            for (var round = -1; round < rounds; round++)
            {
                await Execute(dataSource, "TRUNCATE resultgrid_tasks, resultgrid_groups, bench_raw_copy CASCADE");
                var migration = new ResultMigration((IResultTransfer)source, (IResultTransfer)target, target, TimeProvider.System);
                var state = Path.Combine(Path.GetTempPath(), $"rg-bench-migrate-{Guid.NewGuid():N}.json");
                var clock = Stopwatch.StartNew();
                var done = await migration.CopyAsync(new MigrationState { From = redisUrl, To = pgUrl, StartedAt = now }, new MigrationSettings { StatePath = state }, null, CancellationToken.None);
                clock.Stop();
                File.Delete(state);
                if (done.ResultsAdded != count)
                {
                    throw new InvalidOperationException($"The copy added {done.ResultsAdded} of {count} results.");
                }

                var peerRate = await RawCopyAsync(redisUrl, dataSource, count);
                if (round >= 0)
                {
                    copy.Add(count / clock.Elapsed.TotalSeconds);
                    peer.Add(peerRate);
                }
            }

            await Execute(dataSource, "DROP TABLE bench_raw_copy; TRUNCATE resultgrid_tasks, resultgrid_groups CASCADE");
            return (copy, peer);
        }
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
