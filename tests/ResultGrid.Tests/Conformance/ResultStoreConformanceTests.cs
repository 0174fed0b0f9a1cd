using System.Text;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>
/// The store contract. Every provider's test class inherits this and supplies its store, so a
/// new backend runs every test here (the pattern of Orleans' GrainPersistenceTestRunner).
/// </summary>
public abstract class ResultStoreConformanceTests
{
    protected abstract IResultStore Store { get; }

    protected static string NewId(string prefix = "conf") => $"{prefix}-{Guid.NewGuid():N}";

    protected static ResultPayload Json(string json) => new() { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" };

    protected static TaskResult Record(string id, string state, string? json = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = json is null ? null : Json(json),
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Write_then_read_returns_every_field()
    {
        var id = NewId();
        var done = new DateTimeOffset(2026, 11, 24, 10, 16, 23, 442, TimeSpan.Zero);
        var expires = DateTimeOffset.UtcNow.AddHours(2);
        var written = new TaskResult
        {
            TaskId = id,
            State = TaskStates.Failure,
            Payload = Json("""{"exc_type":"ValueError","exc_message":["bad value",42],"exc_module":"builtins"}"""),
            Traceback = "Traceback (most recent call last):\n  ValueError: ('bad value', 42)\n",
            DateDone = done,
            Children = ["child-1", "child-2"],
            GroupId = "group-1",
            ParentId = "parent-1",
            Name = "proj.add",
            Args = Json("[1, 2]"),
            Kwargs = Json("""{"z": 3}"""),
            Worker = "w1@host",
            Retries = 2,
            Queue = "celery",
            ExpiresAt = expires,
        };

        Assert.Equal(WriteOutcome.Stored, (await Store.WriteAsync(written, Ct)).Outcome);
        var read = await Store.ReadAsync(id, Ct);

        Assert.NotNull(read);
        Assert.Equal(id, read.TaskId);
        Assert.Equal(TaskStates.Failure, read.State);
        Assert.Equal(written.Payload!.Data, read.Payload!.Data);
        Assert.Equal("application/json", read.Payload.ContentType);
        Assert.Equal("utf-8", read.Payload.ContentEncoding);
        Assert.Equal(written.Traceback, read.Traceback);
        Assert.Equal(done, read.DateDone);
        Assert.Equal(["child-1", "child-2"], read.Children!);
        Assert.Equal("group-1", read.GroupId);
        Assert.Equal("parent-1", read.ParentId);
        Assert.Equal(expires.ToUnixTimeMilliseconds(), read.ExpiresAt!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Extended_fields_round_trip()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "7") with
        {
            Name = "proj.add",
            Args = Json("[3, 4]"),
            Kwargs = Json("{}"),
            Worker = "w1@host",
            Retries = 1,
            Queue = "q1",
        }, Ct);

        var read = await Store.ReadAsync(id, Ct);
        Assert.Equal("proj.add", read!.Name);
        Assert.Equal("[3, 4]", Encoding.UTF8.GetString(read.Args!.Data));
        Assert.Equal("{}", Encoding.UTF8.GetString(read.Kwargs!.Data));
        Assert.Equal("w1@host", read.Worker);
        Assert.Equal(1, read.Retries);
        Assert.Equal("q1", read.Queue);
    }

    [Fact]
    public async Task Many_results_are_read_at_once_in_the_order_asked()
    {
        var ids = Enumerable.Range(0, 50).Select(i => NewId($"many{i}")).ToArray();
        for (var i = 0; i < ids.Length; i += 2)
        {
            await Store.WriteAsync(Record(ids[i], TaskStates.Success, $"{i}"), Ct);
        }

        await Store.WriteAsync(Record(ids[1], TaskStates.Success, "1") with { ExpiresAt = DateTimeOffset.UtcNow.AddMilliseconds(-1) }, Ct);

        var read = await Store.ReadManyAsync(ids, Ct);

        Assert.Equal(ids.Length, read.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal(ids[i], read[i]!.TaskId);
                Assert.Equal($"{i}", Encoding.UTF8.GetString(read[i]!.Payload!.Data));
            }
            else
            {
                Assert.Null(read[i]);
            }
        }
    }

    [Fact]
    public async Task A_group_is_saved_restored_in_order_replaced_and_forgotten()
    {
        var gid = NewId("group");
        var children = Enumerable.Range(0, 25).Select(i => $"{gid}-child-{i}").ToArray();
        var saved = DateTimeOffset.UtcNow;
        await Store.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = children, DateDone = saved, ExpiresAt = saved.AddHours(1) }, Ct);

        var read = await Store.ReadGroupAsync(gid, Ct);
        Assert.Equal(gid, read!.GroupId);
        Assert.Equal(children, read.TaskIds);
        Assert.Equal(saved.AddHours(1).ToUnixTimeMilliseconds(), read.ExpiresAt!.Value.ToUnixTimeMilliseconds());

        await Store.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = children[..3], ExpiresAt = saved.AddHours(1) }, Ct);
        Assert.Equal(children[..3], (await Store.ReadGroupAsync(gid, Ct))!.TaskIds);

        Assert.True(await Store.ForgetGroupAsync(gid, Ct));
        Assert.Null(await Store.ReadGroupAsync(gid, Ct));
        Assert.False(await Store.ForgetGroupAsync(gid, Ct));
        Assert.Null(await Store.ReadGroupAsync(NewId("nogroup"), Ct));
    }

    [Fact]
    public async Task An_expired_group_is_never_returned()
    {
        var gid = NewId("group");
        await Store.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = ["a"], ExpiresAt = DateTimeOffset.UtcNow.AddMilliseconds(500) }, Ct);
        Assert.NotNull(await Store.ReadGroupAsync(gid, Ct));
        await Task.Delay(900, Ct);
        Assert.Null(await Store.ReadGroupAsync(gid, Ct));
    }

    [Fact]
    public async Task Unknown_id_reads_as_nothing()
    {
        var id = NewId();
        Assert.Null(await Store.ReadAsync(id, Ct));
        Assert.False(await Store.ExistsAsync(id, Ct));
    }

    [Fact]
    public async Task A_stored_success_is_never_replaced()
    {
        var id = NewId();
        Assert.True((await Store.WriteAsync(Record(id, TaskStates.Success, "\"first\""), Ct)).Applied);

        foreach (var state in new[] { TaskStates.Failure, TaskStates.Started, TaskStates.Retry, "PROGRESS", TaskStates.Success, TaskStates.Revoked })
        {
            var outcome = await Store.WriteAsync(Record(id, state, "\"later\""), Ct);
            Assert.Equal(WriteOutcome.KeptSuccess, outcome.Outcome);
        }

        var read = await Store.ReadAsync(id, Ct);
        Assert.Equal(TaskStates.Success, read!.State);
        Assert.Equal("\"first\"", Encoding.UTF8.GetString(read.Payload!.Data));
    }

    [Fact]
    public async Task States_other_than_success_are_replaced()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Started), Ct);
        await Store.WriteAsync(Record(id, "PROGRESS", """{"current": 3, "total": 10}"""), Ct);
        Assert.Equal("PROGRESS", (await Store.ReadAsync(id, Ct))!.State);

        await Store.WriteAsync(Record(id, TaskStates.Failure, """{"exc_type":"E","exc_message":[],"exc_module":null}"""), Ct);
        Assert.Equal(TaskStates.Failure, (await Store.ReadAsync(id, Ct))!.State);

        // A retried task may succeed after a stored failure.
        Assert.True((await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct)).Applied);
        Assert.Equal(TaskStates.Success, (await Store.ReadAsync(id, Ct))!.State);
    }

    [Fact]
    public async Task Forget_deletes_and_reports_whether_there_was_a_result()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
        Assert.True(await Store.ExistsAsync(id, Ct));

        Assert.True(await Store.ForgetAsync(id, Ct));
        Assert.Null(await Store.ReadAsync(id, Ct));
        Assert.False(await Store.ExistsAsync(id, Ct));
        Assert.False(await Store.ForgetAsync(id, Ct));

        // A forgotten SUCCESS no longer blocks a new write.
        Assert.True((await Store.WriteAsync(Record(id, TaskStates.Started), Ct)).Applied);
    }

    [Fact]
    public async Task An_expired_result_is_never_returned()
    {
        var id = NewId();
        var stillThere = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1") with { ExpiresAt = DateTimeOffset.UtcNow.AddMilliseconds(700) }, Ct);
        await Store.WriteAsync(Record(stillThere, TaskStates.Success, "1") with { ExpiresAt = null }, Ct);
        Assert.NotNull(await Store.ReadAsync(id, Ct));

        await Task.Delay(TimeSpan.FromMilliseconds(1200), Ct);

        Assert.Null(await Store.ReadAsync(id, Ct));
        Assert.False(await Store.ExistsAsync(id, Ct));
        Assert.NotNull(await Store.ReadAsync(stillThere, Ct));

        // An expired SUCCESS does not block a new write either.
        Assert.True((await Store.WriteAsync(Record(id, TaskStates.Started), Ct)).Applied);
    }

    [Fact]
    public async Task A_one_mebibyte_payload_round_trips_byte_for_byte()
    {
        var id = NewId();
        var data = new byte[1024 * 1024];
        new Random(42).NextBytes(data);
        await Store.WriteAsync(Record(id, TaskStates.Success) with
        {
            Payload = new ResultPayload { Data = data, ContentType = "application/octet-stream", ContentEncoding = "binary" },
        }, Ct);

        var read = await Store.ReadAsync(id, Ct);
        Assert.Equal(data, read!.Payload!.Data);
        Assert.Equal("application/octet-stream", read.Payload.ContentType);
    }

    [Theory]
    [InlineData("ünïcødé-タスク-задача-🚀")]
    [InlineData("celery-task-meta-looking:id/with spaces.and|symbols")]
    public async Task Unicode_and_symbol_ids_round_trip(string prefix)
    {
        var id = $"{prefix}-{Guid.NewGuid():N}";
        await Store.WriteAsync(Record(id, TaskStates.Success, "\"ü\""), Ct);
        var read = await Store.ReadAsync(id, Ct);
        Assert.Equal(id, read!.TaskId);
        Assert.Equal("\"ü\"", Encoding.UTF8.GetString(read.Payload!.Data));
    }

    [Fact]
    public async Task The_longest_allowed_id_round_trips_and_is_distinct_from_its_prefix()
    {
        var id = NewId("long") + new string('x', TaskIds.MaxLength - 37);
        id = id[..TaskIds.MaxLength];
        var shorter = id[..^1];
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
        await Store.WriteAsync(Record(shorter, TaskStates.Success, "2"), Ct);

        Assert.Equal("1", Encoding.UTF8.GetString((await Store.ReadAsync(id, Ct))!.Payload!.Data));
        Assert.Equal("2", Encoding.UTF8.GetString((await Store.ReadAsync(shorter, Ct))!.Payload!.Data));
    }

    [Fact]
    public async Task Concurrent_writers_to_one_id_never_lose_the_success()
    {
        for (var round = 0; round < 5; round++)
        {
            var id = NewId("race");
            var writes = Enumerable.Range(0, 40).Select(i =>
                Task.Run(async () => await Store.WriteAsync(
                    i == 17 ? Record(id, TaskStates.Success, "\"winner\"") : Record(id, i % 2 == 0 ? TaskStates.Failure : "PROGRESS", $"{i}"),
                    Ct), Ct));
            var outcomes = await Task.WhenAll(writes);

            var read = await Store.ReadAsync(id, Ct);
            Assert.Equal(TaskStates.Success, read!.State);
            Assert.Equal("\"winner\"", Encoding.UTF8.GetString(read.Payload!.Data));

            // Every write after the success was refused, none was lost silently.
            Assert.Equal(40, outcomes.Length);
            Assert.Contains(outcomes, o => o.Applied);
        }
    }

    [Fact]
    public async Task A_claim_is_taken_once_among_concurrent_callers()
    {
        var key = NewId("claim");
        var takes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Store.TryClaimAsync(key, DateTimeOffset.UtcNow.AddHours(1), Ct).AsTask()));

        Assert.Single(takes, t => t);
        Assert.False(await Store.TryClaimAsync(key, null, Ct));
        Assert.True(await Store.TryClaimAsync(NewId("claim"), null, Ct));
    }

    [Fact]
    public async Task An_expired_claim_can_be_taken_again()
    {
        var key = NewId("claim");
        Assert.True(await Store.TryClaimAsync(key, DateTimeOffset.UtcNow.AddMilliseconds(300), Ct));
        Assert.False(await Store.TryClaimAsync(key, null, Ct));

        await Task.Delay(700, Ct);

        Assert.True(await Store.TryClaimAsync(key, null, Ct));
        Assert.False(await Store.TryClaimAsync(key, null, Ct));
    }

    [Fact]
    public async Task A_chord_body_is_saved_and_restored_with_its_group()
    {
        var gid = NewId("chordmeta");
        var body = new ChordBody { TaskId = NewId("body"), Name = "reports.merge", Queue = "reports", Expires = TimeSpan.FromMinutes(5) };
        await Store.SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = ["a", "b"], DateDone = DateTimeOffset.UtcNow, Chord = body }, Ct);

        var restored = await Store.ReadGroupAsync(gid, Ct);

        Assert.Equal(body, restored!.Chord);
    }

    [Fact]
    public async Task Expire_brings_a_result_s_expiry_forward_and_never_later()
    {
        var id = NewId("expire");
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);

        Assert.True(await Store.ExpireAsync(id, DateTimeOffset.UtcNow.AddMilliseconds(400), Ct));
        Assert.True(await Store.ExpireAsync(id, DateTimeOffset.UtcNow.AddHours(5), Ct));
        Assert.NotNull(await Store.ReadAsync(id, Ct));
        Assert.False(await Store.ExpireAsync(NewId("expire"), DateTimeOffset.UtcNow.AddHours(1), Ct));

        await Task.Delay(900, Ct);

        Assert.Null(await Store.ReadAsync(id, Ct));
    }

    /// <summary>What the store can say of an expired result it has not removed yet.</summary>
    protected virtual ResultExistence[] AfterExpiry => [ResultExistence.Expired];

    [Fact]
    public async Task Existence_tells_stored_from_pending_and_expired_where_the_store_knows()
    {
        var id = NewId("exist");
        await Store.WriteAsync(Record(id, TaskStates.Success, "1") with { ExpiresAt = DateTimeOffset.UtcNow.AddMilliseconds(300) }, Ct);

        Assert.Equal(ResultExistence.Stored, await Store.GetExistenceAsync(id, Ct));
        Assert.Equal(ResultExistence.Pending, await Store.GetExistenceAsync(NewId("exist"), Ct));

        await Task.Delay(700, Ct);

        Assert.Contains(await Store.GetExistenceAsync(id, Ct), AfterExpiry);
    }
}
