using System.Text.Json.Nodes;
using ResultGrid.Client;
using ResultGrid.Serialization;
using StackExchange.Redis;

namespace ResultGrid.Tests;

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
