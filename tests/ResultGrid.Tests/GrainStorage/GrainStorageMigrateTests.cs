using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ResultGrid.Hosting;
using ResultGrid.Storage;
using ResultGrid.Storage.GrainStorage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// grainstorage:// as a source and a target of `resultgrid migrate` (the real program, whose
/// private in-process silo holds Orleans' ADO.NET storage on PostgreSQL), import that never
/// replaces a live record, groups and claims swept by the store's one reminder, and two silos of
/// separate clusters filing into the same bucket state without losing an id. The storage is the
/// collection's PostgreSQL, under a service id of each test's own, so nothing else's states mix in.
/// </summary>
[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStorageMigrateTests(GrainStoragePostgresCluster cluster)
{
    private const string StorageName = "migrated";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The environment a silo (and the CLI's private one) takes the grain storage from.</summary>
    private Dictionary<string, string> Environment(string serviceId, string? schema = null)
    {
        var env = new Dictionary<string, string>
        {
            ["RESULTGRID__GRAINSTORAGE__NAME"] = StorageName,
            ["RESULTGRID__GRAINSTORAGE__PROVIDER"] = "adonet",
            ["RESULTGRID__GRAINSTORAGE__INVARIANT"] = "Npgsql",
            ["RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING"] = cluster.ConnectionString,
            ["RESULTGRID__SILO__SERVICEID"] = serviceId,
        };
        if (schema is not null)
        {
            env["RESULTGRID__SQL__SCHEMA"] = schema;
        }

        return env;
    }

    private Task<GrainStorageHost> HostAsync(string serviceId) =>
        GrainStorageHost.StartAsync("test", BackendUrl.Parse("grainstorage://" + StorageName), new ConfigurationBuilder()
            .AddInMemoryCollection(Environment(serviceId).ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value))
            .Build(), Ct);

    private static async Task<(int Exit, string Output, string Error)> MigrateAsync(Dictionary<string, string> env, params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), env, arguments: ["migrate", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromMinutes(3));
        return (exit, cli.Output, cli.Error);
    }

    private async Task<SqlResultStore> SqlStoreAsync(string schema)
    {
        var store = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(cluster.Server.Url), new SqlResultStoreOptions { Schema = schema }), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static ResultPayload Json(string text) => new() { Data = Encoding.UTF8.GetBytes(text), ContentType = "application/json", ContentEncoding = "utf-8" };

    /// <summary>Each state, binary and JSON payloads, extended fields, kept forever or expiring over half an hour of slots.</summary>
    private static TaskResult Make(string prefix, int i, DateTimeOffset now)
    {
        var bytes = new byte[8 + i % 100];
        new Random(i).NextBytes(bytes);
        var id = $"{prefix}-{i:D5}";
        var expires = now.AddHours(1).AddSeconds(i % 1800);
        return (i % 6) switch
        {
            0 => new TaskResult { TaskId = id, State = TaskStates.Failure, Payload = Json($$"""{"exc_type": "ValueError", "exc_message": ["bad {{i}}"]}"""), Traceback = "Traceback\nValueError", DateDone = now, ExpiresAt = expires },
            1 => new TaskResult { TaskId = id, State = "PROGRESS", Payload = Json($$"""{"i": {{i}}}"""), ExpiresAt = expires },
            2 => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = new ResultPayload { Data = bytes, ContentType = "application/x-msgpack", ContentEncoding = "binary" }, DateDone = now, ExpiresAt = expires },
            3 => new TaskResult { TaskId = id, State = TaskStates.Revoked, Payload = Json("{\"exc_type\": \"TaskRevokedError\"}"), DateDone = now, ExpiresAt = expires },
            4 => new TaskResult
            {
                TaskId = id, State = TaskStates.Success, Payload = Json($"[{i}]"), DateDone = now, ExpiresAt = expires, Name = "reports.build",
                Kwargs = new ResultPayload { Data = bytes, ContentType = "application/x-msgpack", ContentEncoding = "binary" }, Worker = "w1@host", Retries = i % 3, Queue = "q",
                Children = [$"{id}-c1"], GroupId = $"{prefix}-g{i % 5}", ParentId = $"{prefix}-parent",
            },
            _ => new TaskResult { TaskId = id, State = TaskStates.Success, Payload = Json($"{i}"), DateDone = now },
        };
    }

    private static JsonElement Report(string output)
    {
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    [Fact(Timeout = 300_000)]
    public async Task Results_and_groups_go_PostgreSQL_to_grainstorage_and_back_verified_with_their_TTLs()
    {
        const int Count = 3_000;
        var now = DateTimeOffset.UtcNow;
        var prefix = $"gsm-{Guid.NewGuid():N}"[..16];
        var records = Enumerable.Range(0, Count).Select(i => Make(prefix, i, now)).ToArray();
        var groups = Enumerable.Range(0, 5).Select(g => new GroupMeta
        {
            GroupId = $"{prefix}-g{g}",
            TaskIds = records.Where(r => r.GroupId == $"{prefix}-g{g}").Select(r => r.TaskId).ToArray(),
            DateDone = now,
            ExpiresAt = g == 0 ? null : now.AddHours(g),
            Chord = g == 1 ? new ChordBody { TaskId = $"{prefix}-body", Name = "reports.merge", Queue = "q" } : null,
        }).ToArray();
        var (schemaA, schemaB) = ($"gsa_{Guid.NewGuid():N}"[..20], $"gsb_{Guid.NewGuid():N}"[..20]);
        await using (var source = await SqlStoreAsync(schemaA))
        {
            foreach (var chunk in records.Chunk(500))
            {
                await Task.WhenAll(chunk.Select(r => source.WriteAsync(r, Ct).AsTask()));
            }

            foreach (var group in groups)
            {
                await source.SaveGroupAsync(group, Ct);
            }
        }

        var serviceId = $"gsmig-{Guid.NewGuid():N}";
        var work = Directory.CreateTempSubdirectory("rg-gsmig-").FullName;
        var (exit, output, error) = await MigrateAsync(Environment(serviceId, schemaA), "--from", cluster.Server.Url, "--to", "grainstorage://" + StorageName, "--state", Path.Combine(work, "in.json"), "--json");
        Assert.True(exit == 0, output + error);
        var report = Report(output);
        Assert.Equal(Count, report.GetProperty("copy").GetProperty("results_added").GetInt64());
        Assert.Equal(groups.Length, report.GetProperty("copy").GetProperty("groups_added").GetInt64());
        Assert.True(report.GetProperty("verify").GetProperty("passed").GetBoolean(), output);
        Assert.Equal(Count, report.GetProperty("verify").GetProperty("target_results_matching").GetInt64());
        Assert.Equal(groups.Length, report.GetProperty("verify").GetProperty("target_groups_matching").GetInt64());

        (exit, output, error) = await MigrateAsync(Environment(serviceId, schemaB), "--from", "grainstorage://" + StorageName, "--to", cluster.Server.Url, "--state", Path.Combine(work, "out.json"), "--json");
        Assert.True(exit == 0, output + error);
        report = Report(output);
        Assert.Equal(Count, report.GetProperty("copy").GetProperty("results_scanned").GetInt64());
        Assert.Equal(Count, report.GetProperty("copy").GetProperty("results_added").GetInt64());
        Assert.Equal(groups.Length, report.GetProperty("copy").GetProperty("groups_added").GetInt64());
        Assert.True(report.GetProperty("verify").GetProperty("passed").GetBoolean(), output);
        Assert.Equal(Count, report.GetProperty("verify").GetProperty("source_results").GetInt64());

        await using var back = await SqlStoreAsync(schemaB);
        Assert.Equal(Count, await back.EstimateResultCountAsync(Ct));
        var read = await back.ReadManyAsync(records.Select(r => r.TaskId).ToArray(), Ct);
        foreach (var (original, copy) in records.Zip(read))
        {
            Assert.True(copy is not null, $"{original.TaskId} did not come back");
            Assert.Equal(original.State, copy.State);
            Assert.True(original.Payload!.Data.AsSpan().SequenceEqual(copy.Payload!.Data), $"{original.TaskId}: payload bytes differ");
            Assert.Equal((original.Payload.ContentType, original.Payload.ContentEncoding), (copy.Payload.ContentType, copy.Payload.ContentEncoding));
            Assert.Equal((original.Traceback, original.Name, original.Worker, original.Retries, original.Queue, original.GroupId, original.ParentId), (copy.Traceback, copy.Name, copy.Worker, copy.Retries, copy.Queue, copy.GroupId, copy.ParentId));
            Assert.Equal(original.Kwargs?.Data, copy.Kwargs?.Data);
            Assert.Equal(original.Children, copy.Children);
            Assert.Equal(original.ExpiresAt is null, copy.ExpiresAt is null);
            if (original.ExpiresAt is { } at)
            {
                Assert.True((at - copy.ExpiresAt!.Value).Duration() <= TimeSpan.FromSeconds(1), $"{original.TaskId}: expiry {at:O} became {copy.ExpiresAt:O}");
            }
        }

        foreach (var group in groups)
        {
            var copy = await back.ReadGroupAsync(group.GroupId, Ct);
            Assert.NotNull(copy);
            Assert.Equal(group.TaskIds, copy.TaskIds);
            Assert.Equal(group.Chord, copy.Chord);
            Assert.Equal(group.ExpiresAt?.ToUnixTimeMilliseconds(), copy.ExpiresAt?.ToUnixTimeMilliseconds());
        }
    }

    /// <summary>
    /// A copy out of grainstorage:// stopped once a third of it is saved (the cursor a bucket position,
    /// slot:shard:offset), then resumed from its state file: the target ends with every result once,
    /// and the verify pass over the whole source finds no difference.
    /// </summary>
    [Fact(Timeout = 240_000)]
    [Trait("Backend", "sqlite")]
    public async Task A_copy_out_of_grainstorage_stopped_a_third_of_the_way_resumes_from_its_checkpoint_and_loses_nothing()
    {
        const int Count = 1_200;
        await using var host = await HostAsync($"gsres-{Guid.NewGuid():N}");
        var store = host.Store;
        await store.InitializeAsync(Ct);
        var transfer = store.Capability<IResultTransfer>()!;
        var now = DateTimeOffset.UtcNow;
        var prefix = $"res{Guid.NewGuid():N}"[..12];
        var records = Enumerable.Range(0, Count).Select(i => Make(prefix, i, now)).ToArray();
        foreach (var chunk in records.Chunk(200))
        {
            Assert.Equal(chunk.Length, await transfer.ImportResultsAsync(chunk, Ct));
        }

        var work = Directory.CreateTempSubdirectory("rg-gs-resume-").FullName;
        await using var target = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse($"db+sqlite:///{Path.Combine(work, "target.db")}"), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await target.InitializeAsync(Ct);
        var settings = new ResultGrid.Storage.Migration.MigrationSettings { BatchSize = 100, Parallelism = 2, StatePath = Path.Combine(work, "state.json") };
        var migration = new ResultGrid.Storage.Migration.ResultMigration(transfer, target.Capability<IResultTransfer>()!, target, TimeProvider.System);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var state = ResultGrid.Storage.Migration.MigrationState.LoadOrStart(settings.StatePath, "grainstorage", "sqlite", now);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migration.CopyAsync(state, settings, new StopOnceScanned(Count / 3, stop), stop.Token));
        var stopped = ResultGrid.Storage.Migration.MigrationState.LoadOrStart(settings.StatePath, "grainstorage", "sqlite", now);
        Assert.Equal(ResultGrid.Storage.Migration.MigrationState.Results, stopped.Phase);
        Assert.NotNull(stopped.Cursor);
        Assert.InRange(stopped.ResultsScanned, Count / 3, Count - 1);
        Assert.InRange(await target.EstimateResultCountAsync(Ct), stopped.ResultsScanned, Count - 1);
        // The state object goes on counting in the second run: what the first one saved, kept apart.
        var scannedBefore = stopped.ResultsScanned;

        var done = await migration.CopyAsync(stopped, settings, null, Ct);
        Assert.Equal(ResultGrid.Storage.Migration.MigrationState.Done, done.Phase);
        Assert.Equal(Count, await target.EstimateResultCountAsync(Ct));
        // Each result added once over both runs (one read again after the checkpoint is "already present").
        Assert.Equal(Count, done.ResultsAdded);
        Assert.Equal(done.ResultsScanned, done.ResultsAdded + done.ResultsAlreadyPresent);
        // It went on from the checkpoint: what the first run saved is not scanned again.
        Assert.InRange(done.ResultsScanned - scannedBefore, Count - scannedBefore, Count - scannedBefore + settings.BatchSize);
        var verify = await migration.VerifyAsync(settings, null, Ct);
        Assert.True(verify.Passed, string.Join("; ", verify.Differences.Select(d => $"{d.Id}: {d.What}")));
        Assert.Equal(Count, verify.SourceResults);
        foreach (var written in records)
        {
            var copy = await target.ReadAsync(written.TaskId, Ct);
            Assert.NotNull(copy);
            Assert.Equal(written.State, copy.State);
            Assert.Equal(written.Payload!.Data, copy.Payload!.Data);
        }
    }

    /// <summary>Cancels the copy once the pages it has saved hold <c>scanned</c> results.</summary>
    private sealed class StopOnceScanned(long scanned, CancellationTokenSource stop) : IProgress<ResultGrid.Storage.Migration.MigrationProgress>
    {
        public void Report(ResultGrid.Storage.Migration.MigrationProgress value)
        {
            if (value.Scanned >= scanned)
            {
                stop.Cancel();
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Import_never_replaces_a_live_record_and_replaces_an_expired_one()
    {
        await using var host = await HostAsync($"gsimp-{Guid.NewGuid():N}");
        var store = host.Store;
        await store.InitializeAsync(Ct);
        var transfer = store.Capability<IResultTransfer>()!;
        var now = DateTimeOffset.UtcNow;
        var prefix = $"imp-{Guid.NewGuid():N}"[..16];

        var live = new TaskResult { TaskId = $"{prefix}-live", State = TaskStates.Success, Payload = Json("1"), ExpiresAt = now.AddHours(1) };
        var lapsing = new TaskResult { TaskId = $"{prefix}-lapsing", State = TaskStates.Success, Payload = Json("2"), ExpiresAt = now.AddMilliseconds(500) };
        Assert.Equal(StoreWriteResult.Stored.Outcome, (await store.WriteAsync(live, Ct)).Outcome);
        Assert.Equal(StoreWriteResult.Stored.Outcome, (await store.WriteAsync(lapsing, Ct)).Outcome);
        await Task.Delay(800, Ct);

        var imported = await transfer.ImportResultsAsync(
        [
            live with { State = TaskStates.Failure, Payload = Json("\"other\"") },
            lapsing with { Payload = Json("3"), ExpiresAt = now.AddHours(2) },
            new TaskResult { TaskId = $"{prefix}-new", State = "PROGRESS", Payload = Json("4"), ExpiresAt = now.AddHours(1) },
            new TaskResult { TaskId = $"{prefix}-gone", State = TaskStates.Success, Payload = Json("5"), ExpiresAt = now.AddSeconds(-1) },
        ], Ct);

        Assert.Equal(2, imported);
        Assert.Equal("1", Encoding.UTF8.GetString((await store.ReadAsync(live.TaskId, Ct))!.Payload!.Data));
        Assert.Equal("3", Encoding.UTF8.GetString((await store.ReadAsync(lapsing.TaskId, Ct))!.Payload!.Data));
        Assert.Equal("PROGRESS", (await store.ReadAsync($"{prefix}-new", Ct))!.State);
        Assert.Equal(ResultExistence.Pending, await store.GetExistenceAsync($"{prefix}-gone", Ct));

        var group = new GroupMeta { GroupId = $"{prefix}-g", TaskIds = [live.TaskId], ExpiresAt = now.AddHours(1) };
        await store.SaveGroupAsync(group, Ct);
        Assert.Equal(0, await transfer.ImportGroupsAsync([group with { TaskIds = ["x"] }], Ct));
        Assert.Equal([live.TaskId], (await store.ReadGroupAsync(group.GroupId, Ct))!.TaskIds);
    }

    [Fact(Timeout = 120_000)]
    public async Task Expired_groups_and_claims_are_swept_by_the_one_reminder()
    {
        var reminders = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.IReminderTable>();
        var before = (await reminders.ReadRows(0, 0, Ct)).Reminders.Count;
        var store = cluster.Store(1);
        var prefix = $"gsw-{Guid.NewGuid():N}";
        var expires = DateTimeOffset.UtcNow.AddSeconds(2);
        for (var i = 0; i < 40; i++)
        {
            await store.SaveGroupAsync(new GroupMeta { GroupId = $"{prefix}-g{i}", TaskIds = ["a", "b"], ExpiresAt = expires }, Ct);
            Assert.True(await store.TryClaimAsync($"{prefix}-c{i}", expires, Ct));
        }

        await store.SaveGroupAsync(new GroupMeta { GroupId = $"{prefix}-forever", TaskIds = ["a"] }, Ct);
        Assert.True(await store.TryClaimAsync($"{prefix}-cforever", null, Ct));
        Assert.Equal(41, await RowsAsync("resultgrid.group", $"{prefix}-%"));
        Assert.Equal(41, await RowsAsync("resultgrid.claim", $"{prefix}-%"));

        // Past the expiry and its slot's grace (two slots of two seconds).
        await Task.Delay(TimeSpan.FromSeconds(7), Ct);
        var report = await cluster.External.SweepExpiredAsync(Ct);

        Assert.True(report.Swept);
        Assert.Equal(1, await RowsAsync("resultgrid.group", $"{prefix}-%"));
        Assert.Equal(1, await RowsAsync("resultgrid.claim", $"{prefix}-%"));
        Assert.NotNull(await store.ReadGroupAsync($"{prefix}-forever", Ct));
        Assert.False(await store.TryClaimAsync($"{prefix}-cforever", null, Ct));
        Assert.Equal(before, (await reminders.ReadRows(0, 0, Ct)).Reminders.Count);
    }

    [Fact(Timeout = 120_000)]
    public async Task Two_clusters_filing_into_one_bucket_lose_no_id()
    {
        var serviceId = $"gsrace-{Guid.NewGuid():N}";
        await using var a = await HostAsync(serviceId);
        await using var b = await HostAsync(serviceId);
        const int PerHost = 400;
        var bucketKey = $"{StorageName}|forever|3";

        // Many small filings from both at once: each cluster's activation of the bucket keeps
        // meeting the other's writes (ETag refusals) and must merge rather than overwrite.
        async Task FileAsync(GrainStorageHost host, string side) =>
            await Parallel.ForEachAsync(Enumerable.Range(0, PerHost).Chunk(4), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (chunk, _) =>
                await host.Services.GetRequiredService<IGrainFactory>().GetGrain<IExpiryBucketGrain>(bucketKey).FileAsync(chunk.Select(i => $"{side}-{i}").ToArray()));
        await Task.WhenAll(FileAsync(a, "a"), FileAsync(b, "b"));

        // A third cluster activates the bucket from the stored state alone.
        await using var c = await HostAsync(serviceId);
        var stored = await c.Services.GetRequiredService<IGrainFactory>().GetGrain<IExpiryBucketGrain>(bucketKey).ListAsync(0, 10 * PerHost);
        var expected = Enumerable.Range(0, PerHost).SelectMany(i => new[] { $"a-{i}", $"b-{i}" }).Order(StringComparer.Ordinal);
        Assert.Equal(expected, stored.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_storage_that_fails_is_reported_as_the_store_unavailable_naming_the_storage()
    {
        // A database of its own whose Orleans table is dropped once the host has created it:
        // every storage call then fails in PostgreSQL itself (a PostgresException, which has no
        // Orleans codec and so could not cross a grain call as it is).
        var database = $"gs_fail_{Guid.NewGuid():N}";
        await ExecuteAsync(cluster.ConnectionString, $"CREATE DATABASE {database}");
        var connectionString = cluster.ConnectionString.Replace($"Database={SqlServerProcess.Database}", $"Database={database}", StringComparison.Ordinal);
        var settings = Environment($"gsfail-{Guid.NewGuid():N}");
        settings["RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING"] = connectionString;
        await using var host = await GrainStorageHost.StartAsync("test", BackendUrl.Parse("grainstorage://" + StorageName), new ConfigurationBuilder()
            .AddInMemoryCollection(settings.ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value))
            .Build(), Ct);
        await host.Store.InitializeAsync(Ct);
        await ExecuteAsync(connectionString, "DROP TABLE orleansstorage");

        var result = new TaskResult { TaskId = $"fail-{Guid.NewGuid():N}", State = TaskStates.Success, Payload = Json("1"), ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };
        var error = await Assert.ThrowsAsync<ResultStoreUnavailableException>(async () => await host.Store.WriteAsync(result, Ct));
        Assert.Contains($"grain storage '{StorageName}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("orleansstorage", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(error.InnerException);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private async Task<long> RowsAsync(string stateName, string like)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM orleansstorage WHERE graintypestring = @s AND grainidextensionstring LIKE @p AND payloadbinary IS NOT NULL", connection);
        command.Parameters.AddWithValue("s", stateName);
        command.Parameters.AddWithValue("p", like);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
