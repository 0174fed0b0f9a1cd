using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Migration;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// `resultgrid migrate`, run as the real program between real servers: Redis of the test's own
/// (so nothing else writes there) and PostgreSQL in a schema of its own.
/// </summary>
public sealed class MigrateTests(PostgresCluster postgres, MariaDbCluster maria)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>`resultgrid migrate ARGUMENTS`, with the tables in PostgreSQL schema <paramref name="schema"/> (null: the default tables, on any SQL backend).</summary>
    private static async Task<(int Exit, string Output, string Error)> MigrateAsync(string? schema, params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(
            ProcessTests.Built("src/Cli", "resultgrid"),
            schema is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["RESULTGRID__SQL__SCHEMA"] = schema },
            arguments: ["migrate", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromMinutes(3));
        return (exit, cli.Output, cli.Error);
    }

    private static async Task<RedisResultStore> RedisStoreAsync(string url)
    {
        var store = new RedisResultStore(RedisStoreSettings.Create(BackendUrl.Parse(url), new RedisResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static async Task<SqlResultStore> SqlStoreAsync(string url, string? schema = null)
    {
        var store = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(url), new SqlResultStoreOptions { Schema = schema }), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static string NewSchema() => $"mig_{Guid.NewGuid():N}"[..20];

    private static ResultPayload Payload(byte[] data, string type, string? encoding) => new() { Data = data, ContentType = type, ContentEncoding = encoding };

    /// <summary>
    /// Every kind of record a backend holds: each state, JSON (with Python's spacing, which must
    /// survive byte for byte), binary and compressed payloads, extended fields with binary kwargs,
    /// children and groups, no expiry, and results that expire before the copy.
    /// </summary>
    private static TaskResult Make(string prefix, int i, DateTimeOffset now)
    {
        var random = new Random(i);
        var bytes = new byte[16 + i % 200];
        random.NextBytes(bytes);
        var id = $"{prefix}-{i:D6}";
        var json = Payload(Encoding.UTF8.GetBytes($$"""{"i": {{i}}, "text": "\u00fc {{i}}",  "list": [1, 2.5, null]}"""), "application/json", "utf-8");
        var done = now.AddMinutes(-i % 600);
        var expires = now.AddHours(1).AddSeconds(i % 3600);
        return (i % 10) switch
        {
            0 => new TaskResult { TaskId = id, State = TaskStates.Failure, Payload = Payload(Encoding.UTF8.GetBytes($$"""{"exc_type": "ValueError", "exc_message": ["bad {{i}}"]}"""), "application/json", "utf-8"), Traceback = $"Traceback (most recent call last):\n  line {i}\nValueError: bad", DateDone = done, ExpiresAt = expires },
            1 => new TaskResult { TaskId = id, State = "PROGRESS", Payload = json, ExpiresAt = expires },
            2 => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = Payload(bytes, "application/x-msgpack", "binary"), DateDone = done, ExpiresAt = expires },
            3 => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = Payload(bytes, "application/json", "zstd"), DateDone = done, ExpiresAt = expires },
            4 => new TaskResult
            {
                TaskId = id, State = TaskStates.Success, Payload = json, DateDone = done, ExpiresAt = expires,
                Name = "reports.build", Args = Payload(Encoding.UTF8.GetBytes($"[{i}, \"x\"]"), "application/json", "utf-8"), Kwargs = Payload(bytes, "application/x-msgpack", "binary"),
                Worker = "worker-1@host", Retries = i % 3, Queue = "reports", Children = [$"{id}-c1", $"{id}-c2"], GroupId = $"{prefix}-g{i % 7}", ParentId = $"{prefix}-parent",
            },
            5 => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = json, DateDone = done },
            6 => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = json, DateDone = done, ExpiresAt = now.AddMilliseconds(300) },
            7 => new TaskResult { TaskId = id, State = TaskStates.Revoked, Payload = Payload("{\"exc_type\": \"TaskRevokedError\"}"u8.ToArray(), "application/json", "utf-8"), DateDone = done, ExpiresAt = expires },
            _ => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = json, DateDone = done, ExpiresAt = expires.AddDays(i % 5) },
        };
    }

    private static bool ExpiresBeforeCopy(TaskResult r) => r.ExpiresAt is { } at && at < DateTimeOffset.UtcNow.AddMinutes(1);

    private static async Task SeedAsync(RedisResultStore store, IReadOnlyList<TaskResult> records)
    {
        foreach (var chunk in records.Chunk(2000))
        {
            await Task.WhenAll(chunk.Select(r => store.WriteAsync(r, Ct).AsTask()));
        }
    }

    /// <summary>The copy holds exactly what was written: bytes, labels, fields, and the expiry within a second.</summary>
    private static async Task AssertCopiedAsync(IResultStore copy, IReadOnlyList<TaskResult> written, string where)
    {
        var live = written.Where(r => !ExpiresBeforeCopy(r)).ToArray();
        foreach (var chunk in live.Chunk(1000))
        {
            var read = await copy.ReadManyAsync(chunk.Select(r => r.TaskId).ToArray(), Ct);
            for (var i = 0; i < chunk.Length; i++)
            {
                var (original, copied) = (chunk[i], read[i]);
                Assert.True(copied is not null, $"{original.TaskId} is missing in {where}");
                Assert.Equal(original.State, copied.State);
                Assert.True(original.Payload!.Data.AsSpan().SequenceEqual(copied.Payload!.Data), $"{original.TaskId}: payload bytes differ in {where}");
                Assert.Equal(original.Payload.ContentType, copied.Payload.ContentType);
                Assert.Equal(original.Payload.ContentEncoding, copied.Payload.ContentEncoding);
                Assert.Equal(original.Traceback, copied.Traceback);
                Assert.Equal(original.Name, copied.Name);
                Assert.Equal(original.Kwargs?.Data, copied.Kwargs?.Data);
                Assert.Equal(original.Kwargs?.ContentType, copied.Kwargs?.ContentType);
                Assert.Equal(original.Args?.Data, copied.Args?.Data);
                Assert.Equal(original.Children, copied.Children);
                Assert.Equal((original.Worker, original.Retries, original.Queue, original.GroupId, original.ParentId), (copied.Worker, copied.Retries, copied.Queue, copied.GroupId, copied.ParentId));
                Assert.Equal(original.DateDone?.UtcTicks / 10, copied.DateDone?.UtcTicks / 10);
                Assert.Equal(original.ExpiresAt is null, copied.ExpiresAt is null);
                if (original.ExpiresAt is { } at)
                {
                    Assert.True((at - copied.ExpiresAt!.Value).Duration() <= TimeSpan.FromSeconds(1), $"{original.TaskId}: expiry {at:O} became {copied.ExpiresAt:O} in {where}");
                }
            }
        }
    }

    private static JsonElement Json(string output)
    {
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "postgresql")]
    public async Task A_hundred_thousand_results_go_Redis_to_PostgreSQL_and_back_byte_for_byte_with_their_TTLs()
    {
        const int Count = 100_000;
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, Count).Select(i => Make("m100k", i, now)).ToArray();
        var groups = Enumerable.Range(0, 7).Select(g => new GroupMeta
        {
            GroupId = $"m100k-g{g}",
            TaskIds = records.Where(r => r.GroupId == $"m100k-g{g}").Select(r => r.TaskId).ToArray(),
            DateDone = now,
            ExpiresAt = g == 0 ? null : now.AddHours(g),
            Chord = g == 1 ? new ChordBody { TaskId = "m100k-chord-body", Name = "reports.merge", Queue = "reports" } : null,
        }).ToArray();

        await using var source = new RedisProcess();
        await source.StartAsync();
        await using var back = new RedisProcess();
        await back.StartAsync();
        var sourceUrl = $"redis://127.0.0.1:{source.Port}/0";
        var backUrl = $"redis://127.0.0.1:{back.Port}/0";
        var schema = NewSchema();
        var state = Path.Combine(Directory.CreateTempSubdirectory("rg-migrate-").FullName, "state.json");

        await using (var redis = await RedisStoreAsync(sourceUrl))
        {
            await SeedAsync(redis, records);
            foreach (var group in groups)
            {
                await redis.SaveGroupAsync(group, Ct);
            }
        }

        // The short-lived ones are gone before the copy starts: they must not be copied.
        while (!records.Where(r => r.ExpiresAt is { } at && at < now.AddMinutes(1)).All(ExpiresBeforeCopy))
        {
            await Task.Delay(100, Ct);
        }

        var (exit, output, error) = await MigrateAsync(schema, "--from", sourceUrl, "--to", postgres.Server.Url, "--state", state, "--json");
        Assert.True(exit == 0, output + error);
        var report = Json(output);
        var live = records.Count(r => !ExpiresBeforeCopy(r));
        Assert.Equal(live, report.GetProperty("copy").GetProperty("results_added").GetInt64());
        Assert.Equal(7, report.GetProperty("copy").GetProperty("groups_added").GetInt64());
        Assert.True(report.GetProperty("verify").GetProperty("passed").GetBoolean(), output);
        Assert.Equal(live, report.GetProperty("verify").GetProperty("target_results_matching").GetInt64());
        Assert.DoesNotContain(SqlServerProcess.Password, output + error, StringComparison.Ordinal);

        await using var pg = await SqlStoreAsync(postgres.Server.Url, schema);
        // Exactly the live ones: the expired ones were skipped, not copied to be swept later.
        Assert.Equal(live, await pg.EstimateResultCountAsync(Ct));
        await AssertCopiedAsync(pg, records, "PostgreSQL");
        foreach (var group in groups)
        {
            var copied = await pg.ReadGroupAsync(group.GroupId, Ct);
            Assert.NotNull(copied);
            Assert.Equal(group.TaskIds, copied.TaskIds);
            Assert.Equal(group.Chord, copied.Chord);
            Assert.Equal(group.ExpiresAt?.ToUnixTimeMilliseconds(), copied.ExpiresAt?.ToUnixTimeMilliseconds());
        }

        (exit, output, error) = await MigrateAsync(schema, "--from", postgres.Server.Url, "--to", backUrl, "--state", state + ".back", "--json");
        Assert.True(exit == 0, output + error);
        Assert.Equal(live, Json(output).GetProperty("copy").GetProperty("results_added").GetInt64());

        await using var redisBack = await RedisStoreAsync(backUrl);
        await AssertCopiedAsync(redisBack, records, "Redis, back from PostgreSQL");
        // The remaining TTL is the key's own in Redis: what Celery and redis-cli see.
        var database = (await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{back.Port}")).GetDatabase();
        foreach (var record in records.Where(r => !ExpiresBeforeCopy(r)).Take(2000))
        {
            var ttl = await database.KeyTimeToLiveAsync(RedisResultStore.TaskKeyPrefix + record.TaskId);
            if (record.ExpiresAt is { } at)
            {
                Assert.True(ttl is { } t && (at - DateTimeOffset.UtcNow - t).Duration() <= TimeSpan.FromSeconds(1), $"{record.TaskId}: TTL {ttl} for expiry {at:O}");
            }
            else
            {
                Assert.Null(ttl);
            }
        }
    }

    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "sqlite")]
    public async Task A_migration_killed_halfway_resumes_where_it_stopped_and_copies_each_result_once()
    {
        const int Count = 60_000;
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, Count).Select(i => Make("kill", i, now) with { ExpiresAt = now.AddHours(2) }).ToArray();
        await using var source = new RedisProcess();
        await source.StartAsync();
        var sourceUrl = $"redis://127.0.0.1:{source.Port}/0";
        await using (var redis = await RedisStoreAsync(sourceUrl))
        {
            await SeedAsync(redis, records);
        }

        var work = Directory.CreateTempSubdirectory("rg-migrate-kill-").FullName;
        var targetUrl = $"db+sqlite:///{Path.Combine(work, "target.db")}";
        var state = Path.Combine(work, "state.json");
        var arguments = new[] { "migrate", "--from", sourceUrl, "--to", targetUrl, "--state", state, "--batch-size", "500", "--parallel", "2", "--json" };

        await using (var first = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: arguments))
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(first.Process.HasExited, $"the copy ended before it could be killed: {first.Output}{first.Error}");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "the copy made no progress");
                if (File.Exists(state) && Json(await File.ReadAllTextAsync(state, Ct)).GetProperty("results_scanned").GetInt64() >= Count / 4)
                {
                    break;
                }

                await Task.Delay(20, Ct);
            }

            await first.KillAsync();
        }

        var saved = Json(await File.ReadAllTextAsync(state, Ct));
        Assert.Equal("results", saved.GetProperty("phase").GetString());
        var scannedBeforeKill = saved.GetProperty("results_scanned").GetInt64();
        Assert.InRange(scannedBeforeKill, Count / 4, Count - 1);
        // The copy into the empty table went without its secondary indexes (built once at the
        // end). Opened without CreateTables, which would make them again.
        await using var target = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(targetUrl), new SqlResultStoreOptions { CreateTables = false }), TimeProvider.System, NullLogger.Instance);
        await target.InitializeAsync(Ct);
        Assert.StartsWith("missing:", await IndexFactAsync(target, BackendFactIds.QueryIndexes), StringComparison.Ordinal);
        Assert.Contains("expires_at", await IndexFactAsync(target, BackendFactIds.CleanupIndexes), StringComparison.Ordinal);
        Assert.InRange(await target.EstimateResultCountAsync(Ct), scannedBeforeKill, Count - 1);

        await using var second = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: arguments);
        Assert.Equal(0, await second.Exit(TimeSpan.FromMinutes(3)));
        var report = Json(second.Output);
        var copy = report.GetProperty("copy");
        Assert.True(copy.GetProperty("resumed").GetBoolean());
        Assert.Equal(2, copy.GetProperty("runs").GetInt32());
        // It went on from the checkpoint rather than starting over. (SCAN may return a key twice
        // if Redis rehashes between calls, so the scanned counts may run a little over; the
        // target's row count below is exact.)
        Assert.InRange(copy.GetProperty("results_this_run").GetInt64(), Count - scannedBeforeKill, Count - scannedBeforeKill + 1_000);
        Assert.InRange(copy.GetProperty("results_scanned").GetInt64(), Count, Count + 1_000);
        Assert.Equal(copy.GetProperty("results_scanned").GetInt64(), copy.GetProperty("results_added").GetInt64() + copy.GetProperty("results_already_present").GetInt64());
        Assert.True(copy.GetProperty("results_added").GetInt64() <= Count);
        Assert.True(report.GetProperty("verify").GetProperty("passed").GetBoolean(), second.Output);
        Assert.Equal(Count, await target.EstimateResultCountAsync(Ct));
        await AssertCopiedAsync(target, records, "SQLite after the resume");
        Assert.StartsWith("all ", await IndexFactAsync(target, BackendFactIds.QueryIndexes), StringComparison.Ordinal);
        Assert.StartsWith("all ", await IndexFactAsync(target, BackendFactIds.CleanupIndexes), StringComparison.Ordinal);
    }

    /// <summary>
    /// The Redis source reads pages ahead of the imports (TransferReadAhead). A copy stopped
    /// with pages read and not yet imported, then resumed with the same source store (whose
    /// read-ahead is at a later cursor than the one saved) and verified from the start, loses
    /// nothing and adds each result once.
    /// </summary>
    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "sqlite")]
    public async Task A_copy_stopped_with_pages_read_ahead_resumes_from_its_checkpoint_and_loses_nothing()
    {
        const int Count = 6_000;
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, Count).Select(i => Make("ahead", i, now) with { ExpiresAt = now.AddHours(2) }).ToArray();
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var source = await RedisStoreAsync($"redis://127.0.0.1:{redis.Port}/0");
        await SeedAsync(source, records);
        var work = Directory.CreateTempSubdirectory("rg-migrate-ahead-").FullName;
        await using var target = await SqlStoreAsync($"db+sqlite:///{Path.Combine(work, "target.db")}");
        var settings = new MigrationSettings { BatchSize = 250, Parallelism = 2, StatePath = Path.Combine(work, "state.json") };
        var migration = new ResultMigration(source, target, target, TimeProvider.System);

        // Stopped once two pages are saved: the read-ahead has read pages beyond them by then.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var state = MigrationState.LoadOrStart(settings.StatePath, "redis", "sqlite", now);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migration.CopyAsync(state, settings, new StopAfter(2, stop), stop.Token));
        var stopped = MigrationState.LoadOrStart(settings.StatePath, "redis", "sqlite", now);
        Assert.Equal(MigrationState.Results, stopped.Phase);
        Assert.NotNull(stopped.Cursor);
        // A page is about BatchSize keys: SCAN's COUNT is a hint, and a step stops at half a page.
        Assert.InRange(stopped.ResultsScanned, settings.BatchSize, Count - 1);
        Assert.InRange(await target.EstimateResultCountAsync(Ct), stopped.ResultsScanned, Count - 1);

        var done = await migration.CopyAsync(stopped, settings, null, Ct);
        Assert.Equal(MigrationState.Done, done.Phase);
        Assert.Equal(Count, await target.EstimateResultCountAsync(Ct));
        Assert.InRange(done.ResultsScanned, Count, Count + 2 * settings.BatchSize);
        Assert.Equal(done.ResultsScanned, done.ResultsAdded + done.ResultsAlreadyPresent);
        Assert.True(done.ResultsAdded <= Count);
        var verify = await migration.VerifyAsync(settings, null, Ct);
        Assert.True(verify.Passed, string.Join("; ", verify.Differences.Select(d => $"{d.Id}: {d.What}")));
        Assert.Equal(Count, verify.SourceResults);
        await AssertCopiedAsync(target, records, "SQLite after a resume over pages read ahead");
    }

    /// <summary>Cancels the copy once it has saved <c>pages</c> pages.</summary>
    private sealed class StopAfter(int pages, CancellationTokenSource stop) : IProgress<MigrationProgress>
    {
        private int _seen;

        public void Report(MigrationProgress value)
        {
            if (++_seen == pages)
            {
                stop.Cancel();
            }
        }
    }

    private static async Task<string> IndexFactAsync(IResultStore store, string id) =>
        (await store.Capability<IBackendDiagnostics>()!.DescribeAsync(Ct)).Single(f => f.Id == id).Value;

    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "postgresql")]
    public async Task A_Celery_Redis_backend_moves_into_PostgreSQL_with_its_TTLs_and_unreadable_keys_are_reported()
    {
        await using var source = new RedisProcess();
        await source.StartAsync();
        var sourceUrl = $"redis://127.0.0.1:{source.Port}/0";
        const int Count = 500;
        var prefix = $"cel{Guid.NewGuid():N}"[..12];
        await CeleryAsync(sourceUrl, "store-many", prefix, Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{source.Port}");
        var redis = connection.GetDatabase();
        // A result Celery stored with result_serializer = 'pickle': never loaded, reported, left alone.
        var pickled = $"{prefix}-pickled";
        await redis.StringSetAsync(RedisResultStore.TaskKeyPrefix + pickled, new byte[] { 0x80, 0x04, 0x95, 0x10, 0x00 }, TimeSpan.FromHours(1));

        var schema = NewSchema();
        var state = Path.Combine(Directory.CreateTempSubdirectory("rg-migrate-celery-").FullName, "state.json");
        var (exit, output, error) = await MigrateAsync(schema, "--from", sourceUrl, "--to", postgres.Server.Url, "--state", state, "--json");

        Assert.True(exit == 1, "an unreadable key must fail the run: " + output + error);
        var copy = Json(output).GetProperty("copy");
        Assert.Equal(Count, copy.GetProperty("results_added").GetInt64());
        Assert.Equal(1, copy.GetProperty("problem_count").GetInt64());
        var problem = copy.GetProperty("problems")[0];
        Assert.Equal(pickled, problem.GetProperty("id").GetString());
        Assert.Contains("result_serializer", problem.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(Json(output).GetProperty("verify").GetProperty("passed").GetBoolean(), output);
        Assert.True(await redis.KeyExistsAsync(RedisResultStore.TaskKeyPrefix + pickled));

        await using var pg = await SqlStoreAsync(postgres.Server.Url, schema);
        for (var i = 0; i < Count; i += 37)
        {
            var id = $"{prefix}-{i}";
            var stored = await pg.ReadAsync(id, Ct);
            Assert.NotNull(stored);
            Assert.Equal(TaskStates.Success, stored.State);
            Assert.Equal("celery.add", stored.Name);
            Assert.Equal("celery@py", stored.Worker);
            Assert.Equal("celery", stored.Queue);
            Assert.Equal($"[{i}, 1]", Encoding.UTF8.GetString(stored.Args!.Data));
            // Celery's own bytes for the value, as json.dumps wrote them.
            var raw = (byte[])(await redis.StringGetAsync(RedisResultStore.TaskKeyPrefix + id))!;
            Assert.True(raw.AsSpan().IndexOf(stored.Payload!.Data) >= 0, Encoding.UTF8.GetString(stored.Payload.Data));
            Assert.Equal(i + 1, JsonDocument.Parse(stored.Payload.Data).RootElement.GetProperty("sum").GetInt32());
            // Celery keeps the expiry only as the key's TTL (result_expires, a day by default).
            var ttl = await redis.KeyTimeToLiveAsync(RedisResultStore.TaskKeyPrefix + id);
            Assert.True(ttl is { } t && (stored.ExpiresAt!.Value - DateTimeOffset.UtcNow - t).Duration() <= TimeSpan.FromSeconds(1), $"expiry {stored.ExpiresAt:O} for TTL {ttl}");
            Assert.InRange(ttl!.Value, TimeSpan.FromHours(23), TimeSpan.FromHours(24));
        }

        var group = await pg.ReadGroupAsync($"{prefix}-group", Ct);
        Assert.NotNull(group);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"{prefix}-{i}"), group.TaskIds);
        Assert.NotNull(group.ExpiresAt);
    }

    private static async Task CeleryAsync(params string[] args)
    {
        var (exit, _, error) = await ProcessTests.RunToEndAsync("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "Interop", "celery_interop.py"), .. args]);
        Assert.True(exit == 0, error);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    [Trait("Backend", "mariadb")]
    public async Task SQLite_results_move_into_MariaDB_whole()
    {
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, 3_000).Select(i => Make($"maria{Guid.NewGuid():N}"[..14], i, now)).Where(r => !(r.ExpiresAt is { } at && at < now.AddMinutes(1))).ToArray();
        var work = Directory.CreateTempSubdirectory("rg-migrate-maria-").FullName;
        var sourceUrl = $"db+sqlite:///{Path.Combine(work, "source.db")}";
        await using (var source = await SqlStoreAsync(sourceUrl))
        {
            await Task.WhenAll(records.Select(r => source.WriteAsync(r, Ct).AsTask()));
        }

        // Into the MariaDB other tests use too: the copy and its verify concern the source's ids alone.
        var (exit, output, error) = await MigrateAsync(null, "--from", sourceUrl, "--to", maria.Server.Url, "--state", Path.Combine(work, "state.json"), "--json");

        Assert.True(exit == 0, output + error);
        Assert.Equal(records.Length, Json(output).GetProperty("copy").GetProperty("results_added").GetInt64());
        Assert.Equal(records.Length, Json(output).GetProperty("verify").GetProperty("target_results_matching").GetInt64());
        await using var target = await SqlStoreAsync(maria.Server.Url);
        await AssertCopiedAsync(target, records, "MariaDB");
    }

    [Fact]
    public void Checksums_see_every_field_but_not_how_a_backend_spells_the_same_value()
    {
        var json = new ResultPayload { Data = "{\"a\": 1}"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" };
        var record = new TaskResult { TaskId = "t", State = TaskStates.Success, Payload = json, DateDone = DateTimeOffset.UnixEpoch.AddTicks(12_345_670) };
        var digest = Storage.Migration.RecordDigest.Of(record);

        // Spelled differently by a backend, the same value: the same checksum.
        Assert.Equal(digest, Storage.Migration.RecordDigest.Of(record with { Payload = json with { ContentEncoding = null }, Children = [] }));
        Assert.Equal(digest, Storage.Migration.RecordDigest.Of(record with { DateDone = record.DateDone!.Value.AddTicks(5) }));
        var nothing = record with { Payload = null };
        Assert.Equal(Storage.Migration.RecordDigest.Of(nothing), Storage.Migration.RecordDigest.Of(record with { Payload = json with { Data = " null"u8.ToArray() } }));

        // Any field that differs: another checksum, and the field named.
        foreach (var (changed, field) in new (TaskResult, string)[]
        {
            (record with { State = TaskStates.Failure }, "state"),
            (record with { Payload = json with { Data = "{\"a\": 2}"u8.ToArray() } }, "result"),
            (record with { Payload = json with { ContentType = "application/x-msgpack" } }, "result content type"),
            (record with { Traceback = "boom" }, "traceback"),
            (record with { DateDone = record.DateDone!.Value.AddTicks(10) }, "date_done"),
            (record with { Children = ["c"] }, "children"),
            (record with { Kwargs = json }, "kwargs"),
            (record with { Retries = 1 }, "retries"),
        })
        {
            Assert.NotEqual(digest, Storage.Migration.RecordDigest.Of(changed));
            Assert.Contains(field, Storage.Migration.RecordDigest.Differences(record, changed));
        }
    }

    [Fact]
    public async Task Unusable_arguments_and_unreachable_servers_get_one_line_each()
    {
        var schema = NewSchema();
        var work = Directory.CreateTempSubdirectory("rg-migrate-bad-").FullName;
        var sqlite = $"db+sqlite:///{Path.Combine(work, "a.db")}";
        var unreachable = $"redis://127.0.0.1:{FreePort.Get()}/0";

        var cases = new (string[] Arguments, int Exit, string Says)[]
        {
            (["--from", sqlite, "--to", sqlite], 2, "the same backend"),
            (["--from", "memory://", "--to", sqlite], 2, "memory://"),
            (["--from", "mongodb://x/y", "--to", sqlite], 2, "mongodb"),
            (["--from", unreachable, "--to", sqlite], 1, unreachable),
        };
        foreach (var (arguments, expected, says) in cases)
        {
            var (exit, output, error) = await MigrateAsync(schema, [.. arguments, "--state", Path.Combine(work, "state.json")]);
            Assert.True(exit == expected, $"{string.Join(' ', arguments)}: exit {exit}\n{output}{error}");
            Assert.Contains(says, error, StringComparison.Ordinal);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);
        }

        // The source is only read: a database without the tables is named, never given empty ones.
        var empty = Path.Combine(work, "empty.db");
        var (fromEmpty, _, why) = await MigrateAsync(schema, "--from", $"db+sqlite:///{empty}", "--to", sqlite, "--state", Path.Combine(work, "empty.json"));
        Assert.Equal(1, fromEmpty);
        Assert.Contains("resultgrid_tasks", why, StringComparison.Ordinal);
        Assert.Single(why.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={empty}"))
        {
            await connection.OpenAsync(Ct);
            await using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'";
            Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync(Ct))!);
        }

        // A state file is only ever resumed between the two backends it was written for.
        await using (await SqlStoreAsync(sqlite))
        {
            // (the source's tables, which a copy from it needs)
        }

        var other = $"db+sqlite:///{Path.Combine(work, "b.db")}";
        var state = Path.Combine(work, "pair.json");
        await File.WriteAllTextAsync(state, """{"from":"redis://elsewhere:6379/0","to":"db+sqlite:///x.db","phase":"results","cursor":"0:17"}""", Ct);
        var (code, _, message) = await MigrateAsync(schema, "--from", sqlite, "--to", other, "--state", state);
        Assert.Equal(2, code);
        Assert.Contains("belongs to a migration from redis://elsewhere:6379/0", message, StringComparison.Ordinal);
    }
}
