using System.Text;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>
/// The bulk-copy contract every copyable backend keeps (Redis, PostgreSQL, MariaDB, SQLite): an
/// import adds only where nothing live is stored, never replaces, skips what has expired; pages
/// from a cursor cover every record.
/// </summary>
public abstract class TransferConformanceTests
{
    protected abstract IResultStore Store { get; }

    /// <summary>The store's bulk-copy capability, asked as every caller asks it (never with a cast of the store object).</summary>
    private IResultTransfer Transfer => Store.TryGetCapability<IResultTransfer>(out var transfer)
        ? transfer
        : throw new InvalidOperationException($"The {Store.Backend} store does not report {nameof(IResultTransfer)}: only a copyable backend runs this suite.");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"xfer-{Guid.NewGuid():N}";

    private static TaskResult Record(string id, string state, string value, DateTimeOffset? expires = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = new ResultPayload { Data = Encoding.UTF8.GetBytes(value), ContentType = "application/json", ContentEncoding = "utf-8" },
        ExpiresAt = expires ?? DateTimeOffset.UtcNow.AddHours(1),
    };

    [Fact]
    public async Task An_import_adds_what_is_missing_and_never_replaces_a_live_result()
    {
        var (kept, added) = (NewId(), NewId());
        await Store.WriteAsync(Record(kept, TaskStates.Started, "\"live\""), Ct);

        var count = await Transfer.ImportResultsAsync([Record(kept, TaskStates.Success, "\"older copy\""), Record(added, TaskStates.Success, "\"new\"")], Ct);

        Assert.Equal(1, count);
        Assert.Equal(TaskStates.Started, (await Store.ReadAsync(kept, Ct))!.State);
        Assert.Equal("\"new\"", Encoding.UTF8.GetString((await Store.ReadAsync(added, Ct))!.Payload!.Data));
        // Again: nothing more to add, nothing changed.
        Assert.Equal(0, await Transfer.ImportResultsAsync([Record(added, TaskStates.Failure, "\"again\"")], Ct));
        Assert.Equal(TaskStates.Success, (await Store.ReadAsync(added, Ct))!.State);
    }

    /// <summary>
    /// Every field of an imported result reads back as it was given: PostgreSQL's import encodes
    /// its rows itself (binary COPY, PgBinaryCopy), so this is where a wrong length, a NULL for an
    /// empty value or a timestamp off by its epoch would show.
    /// </summary>
    [Fact]
    public async Task An_imported_result_reads_back_field_for_field()
    {
        var done = new DateTimeOffset(2026, 11, 30, 23, 59, 58, TimeSpan.Zero).AddTicks(1_234_560);
        TaskResult[] given =
        [
            new()
            {
                TaskId = NewId(), State = TaskStates.Failure,
                Payload = new ResultPayload { Data = Encoding.UTF8.GetBytes("{\"exc_type\": \"ValueError\", \"exc_message\": [\"bad \u00e9\u4e2d\ud83d\ude00\"], \"exc_module\": \"builtins\"}"), ContentType = "application/json", ContentEncoding = "utf-8" },
                Traceback = "Traceback (most recent call last):\n  File \"t\u00e9.py\", line 1\nValueError: bad \ud83d\ude00",
                DateDone = done, ExpiresAt = DateTimeOffset.UtcNow.AddHours(2), Name = "reports.build", Worker = "worker-1@h\u00f4te", Queue = "celery",
                Retries = 0, Children = ["child-1", "child-2"], GroupId = "group-1", ParentId = "parent-1",
                Args = new ResultPayload { Data = "[1, \"two\"]"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
                Kwargs = new ResultPayload { Data = "{\"k\": null}"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
            },
            // Bytes that are not text, every byte value once; a date before PostgreSQL's epoch (2000).
            Record(NewId(), TaskStates.Success, "0") with
            {
                Payload = new ResultPayload { Data = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray(), ContentType = "application/x-raw", ContentEncoding = "binary" },
                DateDone = new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990),
                Retries = 7,
            },
            // Only what a result must have.
            new() { TaskId = NewId(), State = TaskStates.Started, ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) },
        ];

        Assert.Equal(given.Length, await Transfer.ImportResultsAsync(given, Ct));

        foreach (var original in given)
        {
            var read = await Store.ReadAsync(original.TaskId, Ct);
            Assert.NotNull(read);
            Assert.Empty(ResultGrid.Storage.Migration.RecordDigest.Differences(original, read));
            Assert.Equal(original.Payload?.Data, read.Payload?.Data);
            Assert.Equal(original.DateDone, read.DateDone);
            Assert.Equal(original.Retries, read.Retries);
            Assert.InRange((read.ExpiresAt!.Value - original.ExpiresAt!.Value).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public async Task An_import_replaces_an_expired_record_and_skips_expired_input()
    {
        var (stale, dead) = (NewId(), NewId());
        await Store.WriteAsync(Record(stale, TaskStates.Success, "\"old\"", DateTimeOffset.UtcNow.AddMilliseconds(200)), Ct);
        await Task.Delay(400, Ct);

        var count = await Transfer.ImportResultsAsync([Record(stale, TaskStates.Success, "\"fresh\""), Record(dead, TaskStates.Success, "\"gone\"", DateTimeOffset.UtcNow.AddSeconds(-1))], Ct);

        Assert.Equal(1, count);
        Assert.Equal("\"fresh\"", Encoding.UTF8.GetString((await Store.ReadAsync(stale, Ct))!.Payload!.Data));
        Assert.Equal(ResultExistence.Pending, await Store.GetExistenceAsync(dead, Ct));
    }

    [Fact]
    public async Task Groups_import_the_same_way()
    {
        var (kept, added) = (NewId(), NewId());
        await Store.SaveGroupAsync(new GroupMeta { GroupId = kept, TaskIds = ["a", "b"], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Ct);

        var count = await Transfer.ImportGroupsAsync(
        [
            new GroupMeta { GroupId = kept, TaskIds = ["x"], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) },
            new GroupMeta { GroupId = added, TaskIds = ["c", "d", "e"], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1), Chord = new ChordBody { TaskId = "body", Name = "merge" } },
        ], Ct);

        Assert.Equal(1, count);
        Assert.Equal(["a", "b"], (await Store.ReadGroupAsync(kept, Ct))!.TaskIds);
        var group = await Store.ReadGroupAsync(added, Ct);
        Assert.Equal(["c", "d", "e"], group!.TaskIds);
        Assert.Equal("merge", group.Chord!.Name);
    }

    [Fact]
    public async Task Pages_from_a_cursor_cover_every_record_and_group()
    {
        var ids = Enumerable.Range(0, 300).Select(_ => NewId()).ToArray();
        await Task.WhenAll(ids.Select(id => Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct).AsTask()));
        var groupId = NewId();
        await Store.SaveGroupAsync(new GroupMeta { GroupId = groupId, TaskIds = ids[..3], ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Ct);

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        string? cursor = null;
        var pages = 0;
        do
        {
            // Judged at the moment of the read: other tests share this store and write results
            // that expire within milliseconds, which may expire between the read and the check.
            var readAt = DateTimeOffset.UtcNow;
            var page = await Transfer.ReadResultsAsync(cursor, 250, Ct);
            foreach (var result in page.Items)
            {
                seen[result.TaskId] = seen.GetValueOrDefault(result.TaskId) + 1;
                Assert.False(result.IsExpired(readAt), $"{result.TaskId} expired at {result.ExpiresAt:O}, before the read at {readAt:O}");
            }

            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.All(ids, id => Assert.True(seen.ContainsKey(id), $"{id} was not in any page"));
        Assert.True(pages > 1, "300 records at 250 a page take more than one page");
        Assert.True(await Transfer.EstimateResultCountAsync(Ct) >= ids.Length);

        var groups = new List<string>();
        cursor = null;
        do
        {
            var page = await Transfer.ReadGroupsAsync(cursor, 100, Ct);
            groups.AddRange(page.Items.Select(g => g.GroupId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Contains(groupId, groups);
    }
}
