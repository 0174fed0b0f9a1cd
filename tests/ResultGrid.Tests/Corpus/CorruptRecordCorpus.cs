using System.Data.Common;
using System.Text.Json.Nodes;
using ResultGrid.Client;
using ResultGrid.Serialization;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

namespace ResultGrid.Tests.Corpus;

/// <summary>
/// One corruption of a stored record: how to damage a good SUCCESS record in place (raw SQL on
/// the test's own connection, raw Redis commands), the stored field that must be named, the state
/// the record must read as, and whether the store itself can see the damage (a payload whose bytes
/// only the serializer can judge is the client's ResultDecodeException, not a store problem).
/// </summary>
public sealed record Corruption(string Name, string Field, string? State, bool StoreSees = true, bool WholeRecord = false)
{
    /// <summary>SQL: an UPDATE of the task's row, <c>{t}</c> the table, <c>@id</c> the task id, <c>@v</c> <see cref="Value"/>.</summary>
    public string? Sql { get; init; }

    public object? Value { get; init; }

    /// <summary>SQL run first on the same connection (MariaDB: a permissive sql_mode to store what strict mode refuses).</summary>
    public string? Prelude { get; init; }

    /// <summary>Redis: the damage, given the database, the key and the good document as stored.</summary>
    public Func<IDatabase, RedisKey, JsonObject, Task>? Redis { get; init; }

    /// <summary>
    /// False where the damaged value still says SUCCESS where the write rule looks (the head of a
    /// truncated Redis document): a write never replaces what claims to be a SUCCESS.
    /// </summary>
    public bool Rewritable { get; init; } = true;
}

/// <summary>
/// The corpus of corrupted stored records: backend × corruption, each case written good through
/// the SDK, damaged in place through the backend's own protocol, then read back every way a
/// caller reads it. Each case asserts that the damage is that record's alone: the store reads
/// it as a record with a <see cref="RecordProblem"/> naming the field (the other fields intact),
/// the SDK throws <see cref="ResultDecodeException"/> naming the task and the field, a search
/// returns every good row and reports the bad one, and a group with it saves, counts it, and
/// joins with it as a failed outcome.
/// </summary>
public abstract class CorruptRecordCorpus(ResultCluster cluster)
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private IResultGridClient Client => cluster.External;

    /// <summary>Corruptions any SQL database can hold: text columns and bytes of the wrong form.</summary>
    private static readonly Corruption[] AnySql =
    [
        new("children-not-json", "children", TaskStates.Success) { Sql = "UPDATE {t} SET children = @v WHERE task_id = @id", Value = "not json" },
        new("children-truncated-json", "children", TaskStates.Success) { Sql = "UPDATE {t} SET children = @v WHERE task_id = @id", Value = """["c1",""" },
        new("children-an-object", "children", TaskStates.Success) { Sql = "UPDATE {t} SET children = @v WHERE task_id = @id", Value = """{"a": 1}""" },
        new("children-numbers", "children", TaskStates.Success) { Sql = "UPDATE {t} SET children = @v WHERE task_id = @id", Value = "[1, 2]" },
        new("state-empty", "state", TaskStates.Unreadable) { Sql = "UPDATE {t} SET state = @v WHERE task_id = @id", Value = "" },
        new("state-blank", "state", TaskStates.Unreadable) { Sql = "UPDATE {t} SET state = @v WHERE task_id = @id", Value = "   " },
        new("state-too-long", "state", TaskStates.Unreadable) { Sql = "UPDATE {t} SET state = @v WHERE task_id = @id", Value = new string('S', 80) },
        new("payload-not-json", "result", TaskStates.Success, StoreSees: false) { Sql = "UPDATE {t} SET payload = @v WHERE task_id = @id", Value = new byte[] { 0xc1, 0xff, 0x00 } },
        new("payload-truncated-json", "result", TaskStates.Success, StoreSees: false) { Sql = "UPDATE {t} SET payload = @v WHERE task_id = @id", Value = "{\"total\": "u8.ToArray() },
        new("content-encoding-unknown", "content_encoding", TaskStates.Success, StoreSees: false) { Sql = "UPDATE {t} SET content_encoding = @v WHERE task_id = @id", Value = "rot13" },
    ];

    /// <summary>SQLite keeps any value in any column, as Python's sqlite3 writes a str where bytes belong.</summary>
    private static readonly Corruption[] SqliteOnly =
    [
        new("date-done-not-a-date", "date_done", TaskStates.Success) { Sql = "UPDATE {t} SET date_done = @v WHERE task_id = @id", Value = "banana" },
        new("expires-at-not-a-date", "expires_at", TaskStates.Success) { Sql = "UPDATE {t} SET expires_at = @v WHERE task_id = @id", Value = "someday" },
        new("retries-not-a-number", "retries", TaskStates.Success) { Sql = "UPDATE {t} SET retries = @v WHERE task_id = @id", Value = "three" },
        new("retries-too-large", "retries", TaskStates.Success) { Sql = "UPDATE {t} SET retries = @v WHERE task_id = @id", Value = 1e20 },
        new("payload-a-python-str", "payload", TaskStates.Success) { Sql = "UPDATE {t} SET payload = @v WHERE task_id = @id", Value = "{\"total\": 42}" },
        new("args-a-python-str", "args", TaskStates.Success) { Sql = "UPDATE {t} SET args = @v WHERE task_id = @id", Value = "[1, 2]" },
        new("kwargs-a-python-str", "kwargs", TaskStates.Success) { Sql = "UPDATE {t} SET kwargs = @v WHERE task_id = @id", Value = "{}" },
        new("state-a-blob", "state", TaskStates.Unreadable) { Sql = "UPDATE {t} SET state = @v WHERE task_id = @id", Value = new byte[] { 0x53, 0x55, 0x00 } },
    ];

    /// <summary>MariaDB outside strict mode stores an impossible date as the zero date, which no DateTime holds.</summary>
    private static readonly Corruption[] MariaDbOnly =
    [
        new("date-done-zero-date", "date_done", TaskStates.Success) { Prelude = "SET SESSION sql_mode = ''", Sql = "UPDATE {t} SET date_done = '0000-00-00 00:00:00' WHERE task_id = @id" },
        new("date-done-impossible-date", "date_done", TaskStates.Success) { Prelude = "SET SESSION sql_mode = ''", Sql = "UPDATE {t} SET date_done = @v WHERE task_id = @id", Value = "2024-02-31 10:00:00" },
    ];

    protected static TheoryData<string> SqlCases(string backend) =>
        new(SqlCorruptions(backend).Select(c => c.Name));

    private static IEnumerable<Corruption> SqlCorruptions(string backend) => backend switch
    {
        "sqlite" => AnySql.Concat(SqliteOnly),
        "mariadb" => AnySql.Concat(MariaDbOnly),
        _ => AnySql,
    };

    /// <summary>A field of the good document replaced (or removed, for a null value) with raw JSON.</summary>
    private static Func<IDatabase, RedisKey, JsonObject, Task> Field(string name, string? json) => (db, key, doc) =>
    {
        if (json is null)
        {
            doc.Remove(name);
        }
        else
        {
            doc[name] = JsonNode.Parse(json);
        }

        return db.StringSetAsync(key, doc.ToJsonString(), TimeSpan.FromHours(1));
    };

    private static Func<IDatabase, RedisKey, JsonObject, Task> Raw(string value) => (db, key, _) => db.StringSetAsync(key, value, TimeSpan.FromHours(1));

    private static Func<IDatabase, RedisKey, JsonObject, Task> OtherType(Func<IDatabase, RedisKey, Task> write) => async (db, key, _) =>
    {
        await db.KeyDeleteAsync(key);
        await write(db, key);
    };

    /// <summary>Redis holds whatever a client SETs: values that are not JSON, keys of other types, fields of the wrong JSON type.</summary>
    internal static readonly Corruption[] RedisCorruptions =
    [
        new("value-not-json", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = Raw("not json at all") },
        new("value-truncated-json", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = Raw("""{"status": "SUCCESS", "result": """), Rewritable = false },
        new("value-a-json-list", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = Raw("[1, 2, 3]") },
        new("value-a-json-string", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = Raw("\"SUCCESS\"") },
        new("value-pickle-bytes", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = (db, key, _) => db.StringSetAsync(key, new byte[] { 0x80, 0x04, 0x95, 0x10, 0x00 }, TimeSpan.FromHours(1)) },
        new("key-a-list", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = OtherType((db, key) => db.ListRightPushAsync(key, ["a", "b"])) },
        new("key-a-hash", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = OtherType((db, key) => db.HashSetAsync(key, "status", "SUCCESS")) },
        new("key-a-set", "document", TaskStates.Unreadable, WholeRecord: true) { Redis = OtherType((db, key) => db.SetAddAsync(key, "x")) },
        new("status-missing", "status", TaskStates.Unreadable) { Redis = Field("status", null) },
        new("status-a-number", "status", TaskStates.Unreadable) { Redis = Field("status", "5") },
        new("status-empty", "status", TaskStates.Unreadable) { Redis = Field("status", "\"\"") },
        new("date-done-a-number", "date_done", TaskStates.Success) { Redis = Field("date_done", "5") },
        new("date-done-not-a-date", "date_done", TaskStates.Success) { Redis = Field("date_done", "\"banana\"") },
        new("children-a-string", "children", TaskStates.Success) { Redis = Field("children", "\"x\"") },
        new("children-an-object", "children", TaskStates.Success) { Redis = Field("children", """{"a": 1}""") },
        new("children-numbers-in-tuples", "children", TaskStates.Success) { Redis = Field("children", "[[[5, null], null]]") },
        new("retries-a-string", "retries", TaskStates.Success) { Redis = Field("retries", "\"three\"") },
        new("retries-a-fraction", "retries", TaskStates.Success) { Redis = Field("retries", "1.5") },
        new("traceback-a-number", "traceback", TaskStates.Success) { Redis = Field("traceback", "42") },
        new("worker-a-list", "worker", TaskStates.Success) { Redis = Field("worker", "[\"w\"]") },
        new("expiry-a-string", "rg_expires_at_ms", TaskStates.Success) { Redis = Field("rg_expires_at_ms", "\"soon\"") },
        new("binary-result-not-base64", "result", TaskStates.Success) { Redis = async (db, key, doc) => { doc["rg_content_type"] = "application/octet-stream"; doc["result"] = "%%% not base64"; await db.StringSetAsync(key, doc.ToJsonString(), TimeSpan.FromHours(1)); } },
        new("binary-result-a-number", "result", TaskStates.Success) { Redis = async (db, key, doc) => { doc["rg_content_type"] = "application/octet-stream"; doc["result"] = 5; await db.StringSetAsync(key, doc.ToJsonString(), TimeSpan.FromHours(1)); } },
        new("result-not-the-type-asked-for", "result", TaskStates.Success, StoreSees: false) { Redis = Field("result", "\"forty-two\"") },
    ];

    protected static TheoryData<string> RedisCases() => new(RedisCorruptions.Select(c => c.Name));

    private static readonly int[] Arguments = [1, 2];

    /// <summary>Writes a good SUCCESS with extended fields through the SDK; what a worker would have stored.</summary>
    private async Task<string> WriteGoodAsync(string id, int value, string name)
    {
        await Client.MarkSucceededAsync(id, value, new ResultWriteOptions
        {
            Name = name, Worker = "w-corpus@host", Queue = "q-corpus", Retries = 1, Children = ["child-a"], Args = Arguments, Kwargs = new Dictionary<string, int> { ["k"] = 3 },
        }, Ct);
        return id;
    }

    /// <summary>The case's damage, on one record of the cluster's backend.</summary>
    protected abstract Task CorruptAsync(Corruption corruption, string taskId);

    protected abstract bool Searchable { get; }

    internal static Corruption Find(string backend, string name) =>
        (backend == "redis" ? RedisCorruptions : SqlCorruptions(backend)).Single(c => c.Name == name);

    protected async Task RunAsync(string backend, string corruptionName)
    {
        var corruption = Find(backend, corruptionName);
        var name = $"corpus.{corruption.Name}.{Guid.NewGuid():N}";
        var good1 = await WriteGoodAsync($"good1-{Guid.NewGuid():N}", 41, name);
        var bad = await WriteGoodAsync($"bad-{Guid.NewGuid():N}", 42, name);
        var good2 = await WriteGoodAsync($"good2-{Guid.NewGuid():N}", 43, name);
        await CorruptAsync(corruption, bad);

        // The store: the record with its problem, every other field as stored.
        var stored = await cluster.Store(0).ReadAsync(bad, Ct);
        Assert.NotNull(stored);
        Assert.Equal(bad, stored.TaskId);
        Assert.Equal(corruption.State, stored.State);
        if (corruption.StoreSees)
        {
            Assert.NotNull(stored.Problem);
            Assert.Equal(corruption.Field, stored.Problem.Field);
            Assert.False(string.IsNullOrWhiteSpace(stored.Problem.Reason));
            Assert.True(stored.IsReady, "a damaged record of a READY task is READY: nobody waits on it");
        }
        else
        {
            Assert.Null(stored.Problem);
        }

        if (!corruption.WholeRecord)
        {
            Assert.Equal(corruption.Field == "name" ? null : name, stored.Name);
            Assert.Equal(corruption.Field == "worker" ? null : "w-corpus@host", stored.Worker);
            Assert.Equal("q-corpus", stored.Queue);
            Assert.Equal(corruption.Field == "retries" ? null : 1, stored.Retries);
            Assert.Equal(corruption.Field == "children" ? null : ["child-a"], stored.Children);
            if (corruption.Field is not "date_done")
            {
                Assert.NotNull(stored.DateDone);
            }
        }

        // The SDK: the value is this task's ResultDecodeException, naming the task and the field.
        var info = await Client.GetAsync(bad, Ct);
        AssertNames(Assert.Throws<ResultDecodeException>(() => info.GetValue<int>()), bad, corruption.Field);
        AssertNames(await Assert.ThrowsAsync<ResultDecodeException>(() => Client.WaitAsync<int>(bad, Wait, cancellationToken: Ct)), bad, corruption.Field);
        var outcome = await Client.WaitAsync<int>(bad, Wait, propagate: false, cancellationToken: Ct);
        Assert.NotNull(outcome.Failure);
        Assert.Equal(nameof(ResultDecodeException), outcome.Failure.ExceptionType);
        Assert.Contains(bad, outcome.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(41, (await Client.WaitAsync<int>(good1, Wait, cancellationToken: Ct)).Value);

        // A search: every good row, the bad one reported, paging past it (two rows a page).
        if (Searchable)
        {
            var items = new List<string>();
            var unreadable = new List<UnreadableRecord>();
            var query = new ResultQuery { Name = name, PageSize = 2 };
            var pages = 0;
            do
            {
                var page = await Client.QueryAsync(query, Ct);
                items.AddRange(page.Items.Select(i => i.TaskId));
                unreadable.AddRange(page.Unreadable);
                query = query with { PageToken = page.NextPageToken };
                Assert.True(++pages < 10, "paging must move past a damaged row");
            }
            while (query.PageToken is not null);

            if (corruption.StoreSees)
            {
                Assert.Equal(new[] { good1, good2 }.Order(StringComparer.Ordinal), items.Order(StringComparer.Ordinal));
                var reported = Assert.Single(unreadable);
                Assert.Equal(bad, reported.TaskId);
                Assert.Equal(corruption.Field, reported.Field);
            }
            else
            {
                Assert.Equal(3, items.Count);
                Assert.Empty(unreadable);
            }
        }

        // A group with the bad child: saved, counted, and joined with it as a failed outcome.
        var groupId = $"corpus-group-{Guid.NewGuid():N}";
        var status = await Client.SaveGroupAsync(groupId, [good1, bad, good2], cancellationToken: Ct);
        Assert.Equal(3, status.Total);
        Assert.Equal(3, status.Completed);
        Assert.Equal(corruption.StoreSees ? 1 : 0, status.Failed);
        var outcomes = await Client.JoinAsync<int>(groupId, Wait, propagate: false, cancellationToken: Ct);
        Assert.Equal([41, 0, 43], outcomes.Select(o => o.Value));
        Assert.Null(outcomes[0].Failure);
        Assert.Equal(nameof(ResultDecodeException), outcomes[1].Failure?.ExceptionType);
        Assert.Contains(corruption.Field, outcomes[1].Failure!.Message, StringComparison.Ordinal);
        AssertNames(await Assert.ThrowsAsync<ResultDecodeException>(() => Client.JoinAsync<int>(groupId, Wait, cancellationToken: Ct)), bad, corruption.Field);
    }

    /// <summary>Damaged records that hold no readable state (so no SUCCESS to keep), for the repair cases.</summary>
    protected static TheoryData<string> Unreadable(string backend) =>
        new((backend == "redis" ? RedisCorruptions : SqlCorruptions(backend)).Where(c => c.State == TaskStates.Unreadable && c.Rewritable).Select(c => c.Name));

    /// <summary>The task's own next write replaces a damaged record that holds no SUCCESS: damage never blocks the worker.</summary>
    protected async Task RewriteAsync(string backend, string corruptionName)
    {
        var corruption = Find(backend, corruptionName);
        var id = await WriteGoodAsync($"rewrite-{Guid.NewGuid():N}", 1, "corpus.rewrite");
        await CorruptAsync(corruption, id);
        Assert.Equal(TaskStates.Unreadable, (await Client.GetAsync(id, Ct)).State);

        Assert.Equal(WriteOutcome.Stored, await Client.MarkSucceededAsync(id, 7, cancellationToken: Ct));

        var repaired = await Client.GetAsync(id, Ct);
        Assert.Null(repaired.Problem);
        Assert.Equal(7, repaired.GetValue<int>());
    }

    private static void AssertNames(ResultDecodeException ex, string taskId, string field)
    {
        Assert.Contains($"'{taskId}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(taskId, ex.TaskId);
        Assert.Equal(field, ex.Field);
    }
}

/// <summary>The SQL cases: the damage is an UPDATE on a connection of the test's own, as a foreign writer's would be.</summary>
public abstract class SqlCorruptRecordCorpus(ResultCluster cluster) : CorruptRecordCorpus(cluster)
{
    private readonly ResultCluster _cluster = cluster;

    protected override bool Searchable => true;

    protected override Task CorruptAsync(Corruption corruption, string taskId) => Damage.SqlAsync(_cluster, corruption, taskId);

    private static readonly string[] TransferDamage = ["children-not-json", "state-empty", "state-too-long"];

    /// <summary>A migration's read of the table copies every good row and reports each damaged one, with its field, as not copied.</summary>
    [Fact]
    public async Task A_transfer_reports_damaged_rows_as_not_copied_and_reads_the_rest()
    {
        var prefix = $"xfer-{Guid.NewGuid():N}";
        var damaged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var corruption in TransferDamage.Select(n => Find("postgresql", n)))
        {
            var id = $"{prefix}-{corruption.Name}";
            await _cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
            await CorruptAsync(corruption, id);
            damaged[id] = corruption.Field;
        }

        var good = $"{prefix}-good";
        await _cluster.External.MarkSucceededAsync(good, 1, cancellationToken: Ct);
        var transfer = (IResultTransfer)_cluster.Store(0);
        var items = new List<string>();
        var problems = new List<TransferProblem>();
        string? cursor = null;
        do
        {
            var page = await transfer.ReadResultsAsync(cursor, 1000, Ct);
            items.AddRange(page.Items.Select(i => i.TaskId).Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
            problems.AddRange(page.Problems.Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal([good], items);
        Assert.Equal(damaged.Keys.Order(StringComparer.Ordinal), problems.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.Contains($"'{damaged[p.Id]}'", p.Reason, StringComparison.Ordinal));
    }
}

/// <summary>Damage done the way a foreign writer does it: raw SQL on a connection of its own, raw Redis commands.</summary>
internal static class Damage
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task SqlAsync(ResultCluster cluster, Corruption corruption, string taskId)
    {
        var store = (SqlResultStore)cluster.Store(0);
        await using var database = SqlDialect.For(store.Settings).CreateDataSource(store.Settings);
        await using var connection = await database.OpenConnectionAsync(Ct);
        if (corruption.Prelude is { } prelude)
        {
            await using var first = connection.CreateCommand();
            first.CommandText = prelude;
            await first.ExecuteNonQueryAsync(Ct);
        }

        await using var command = connection.CreateCommand();
        command.CommandText = corruption.Sql!.Replace("{t}", "resultgrid_tasks", StringComparison.Ordinal);
        Add(command, "@id", taskId);
        if (corruption.Sql.Contains("@v", StringComparison.Ordinal))
        {
            Add(command, "@v", corruption.Value);
        }

        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }

    public static async Task RedisAsync(IDatabase db, Corruption corruption, string taskId)
    {
        var key = (RedisKey)(ResultGrid.Storage.Redis.RedisResultStore.TaskKeyPrefix + taskId);
        var good = JsonNode.Parse((string)(await db.StringGetAsync(key))!)!.AsObject();
        await corruption.Redis!(db, key, good);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}

[Trait("Backend", "postgresql")]
public sealed class PostgresCorruptRecordTests(PostgresCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("postgresql");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("postgresql", corruption);

    public static TheoryData<string> Repairable => Unreadable("postgresql");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("postgresql", corruption);
}

[Trait("Backend", "mariadb")]
public sealed class MariaDbCorruptRecordTests(MariaDbCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("mariadb");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("mariadb", corruption);

    public static TheoryData<string> Repairable => Unreadable("mariadb");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("mariadb", corruption);
}

[Trait("Backend", "sqlite")]
public sealed class SqliteCorruptRecordTests(SqliteCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("sqlite");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("sqlite", corruption);

    public static TheoryData<string> Repairable => Unreadable("sqlite");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("sqlite", corruption);
}

/// <summary>The Redis cases: the damage is a raw command on a connection of the test's own, as a foreign client's would be.</summary>
[Trait("Backend", "redis")]
public sealed class RedisCorruptRecordTests(RedisCluster cluster) : CorruptRecordCorpus(cluster), IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public static TheoryData<string> Cases => RedisCases();

    public async ValueTask InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    protected override bool Searchable => false;

    protected override Task CorruptAsync(Corruption corruption, string taskId) => Damage.RedisAsync(_redis.GetDatabase(0), corruption, taskId);

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_key_harms_no_other_key(string corruption) => RunAsync("redis", corruption);

    public static TheoryData<string> Repairable => Unreadable("redis");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("redis", corruption);

    /// <summary>A migration copies every good key and reports the damaged ones, with the field, as not copied.</summary>
    [Fact]
    public async Task A_transfer_page_reports_damaged_keys_as_not_copied_and_reads_the_rest()
    {
        var prefix = $"xfer-{Guid.NewGuid():N}";
        var store = (IResultTransfer)cluster.Store(0);
        var ids = new List<string>();
        foreach (var c in RedisCorruptions.Where(c => c.StoreSees).Take(8))
        {
            var id = $"{prefix}-{c.Name}";
            await Client_().MarkSucceededAsync(id, 1, cancellationToken: Ct);
            await CorruptAsync(c, id);
            ids.Add(id);
        }

        var goodId = $"{prefix}-good";
        await Client_().MarkSucceededAsync(goodId, 1, cancellationToken: Ct);
        var problems = new List<TransferProblem>();
        var items = new List<TaskResult>();
        string? cursor = null;
        do
        {
            var page = await store.ReadResultsAsync(cursor, 1000, Ct);
            problems.AddRange(page.Problems.Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal)));
            items.AddRange(page.Items.Where(i => i.TaskId.StartsWith(prefix, StringComparison.Ordinal)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal([goodId], items.Select(i => i.TaskId));
        Assert.Equal(ids.Order(StringComparer.Ordinal), problems.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p.Reason)));
        Assert.Contains(problems, p => p.Reason.Contains("list", StringComparison.Ordinal));
    }

    private IResultGridClient Client_() => cluster.External;
}

/// <summary>What can never be written: a damaged record's state, on the write path every backend shares.</summary>
public sealed class UnreadableIsNeverWrittenTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, bool> Writes => new()
    {
        { TaskStates.Unreadable, false },
        { TaskStates.Success, true },
    };

    /// <summary>UNREADABLE is what a damaged record reads as; a writer that sends it (or a record carrying a Problem) is refused.</summary>
    [Theory, MemberData(nameof(Writes))]
    public async Task The_writer_grain_refuses_a_damaged_records_state_or_problem(string state, bool withProblem)
    {
        var record = new TaskResult
        {
            TaskId = TaskIds.NewId(),
            State = state,
            Problem = withProblem ? new RecordProblem { Field = "date_done", Reason = "not a date" } : null,
        };
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.Grains.GetGrain<IResultWriterGrain>(0).WriteAsync(record, null));
        Assert.Contains("UNREADABLE", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Pending, await cluster.External.GetStateAsync(record.TaskId, Ct));
    }

    [Fact]
    public async Task UpdateState_refuses_UNREADABLE_as_a_built_in_state()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.UpdateStateAsync(TaskIds.NewId(), TaskStates.Unreadable, new { step = 1 }, cancellationToken: Ct));
        Assert.Contains("'UNREADABLE'", ex.Message, StringComparison.Ordinal);
    }
}
