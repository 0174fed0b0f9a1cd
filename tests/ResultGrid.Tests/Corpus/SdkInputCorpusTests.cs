using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Bad input to the SDK, a row each: every call refused with its exact error class and a
/// message that names what was wrong (and, where there is one, what is allowed). Run against a
/// real two-silo cluster, through the external client, so errors raised in the silos are seen
/// as a caller sees them. Nothing is stored by a refused call.
/// </summary>
[Trait("Suite", "Corpus")]
[Trait("Backend", "memory")]
public sealed class SdkInputCorpusTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record BadInput(string Name, Func<IResultGridClient, string, Task> Call, Type Error, string[] Fragments)
    {
        public override string ToString() => Name;
    }

    private static BadInput Row(string name, Func<IResultGridClient, string, Task> call, Type error, params string[] fragments) => new(name, call, error, fragments);

    private static readonly string TooLong = new('x', TaskIds.MaxLength + 1);

    private static readonly BadInput[] All =
    [
        // Task ids
        Row("empty task id", (c, _) => c.GetAsync(""), typeof(ArgumentException), "task id"),
        Row("whitespace task id", (c, _) => c.GetAsync("   "), typeof(ArgumentException), "task id"),
        Row("task id too long", (c, _) => c.GetAsync(TooLong), typeof(ArgumentException), "256", "255"),
        Row("task id with a newline", (c, _) => c.MarkStartedAsync("bad\nid"), typeof(ArgumentException), "control character", "U+000A"),
        Row("task id with a NUL", (c, _) => c.WaitAsync<int>("bad\0id", TimeSpan.Zero), typeof(ArgumentException), "control character", "U+0000"),
        Row("task id too long on write", (c, _) => c.MarkSucceededAsync(TooLong, 1), typeof(ArgumentException), "255"),
        Row("task id too long on forget", (c, _) => c.ForgetAsync(TooLong), typeof(ArgumentException), "255"),
        Row("task id too long on exists", (c, _) => c.ExistsAsync(TooLong), typeof(ArgumentException), "255"),

        // Timeouts and expiry
        Row("negative wait timeout", (c, id) => c.WaitAsync<int>(id, TimeSpan.FromSeconds(-1)), typeof(ArgumentOutOfRangeException), "timeout", "zero or more"),
        Row("negative join timeout", (c, id) => c.JoinAsync<int>(id, TimeSpan.FromSeconds(-2)), typeof(ArgumentOutOfRangeException), "timeout", "zero or more"),
        Row("negative expiry on write", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Expires = TimeSpan.FromSeconds(-5) }), typeof(ArgumentOutOfRangeException), "options"),
        Row("negative expiry on group save", (c, id) => c.SaveGroupAsync(id, [id + "-a"], TimeSpan.FromSeconds(-5)), typeof(ArgumentOutOfRangeException), "expires"),
        Row("wait that runs out", (c, id) => c.WaitAsync<int>(id, TimeSpan.Zero), typeof(ResultTimeoutException), "PENDING"),

        // States
        Row("custom state named like a built-in", (c, id) => c.UpdateStateAsync(id, "SUCCESS", new { }), typeof(ArgumentException), "SUCCESS"),
        Row("custom state PENDING", (c, id) => c.UpdateStateAsync(id, "PENDING", new { }), typeof(ArgumentException), "PENDING"),
        Row("custom state empty", (c, id) => c.UpdateStateAsync(id, "", new { }), typeof(ArgumentException), "state"),
        Row("custom state too long", (c, id) => c.UpdateStateAsync(id, new string('P', 51), new { }), typeof(ArgumentException), "state"),
        Row("custom state with a space", (c, id) => c.UpdateStateAsync(id, "IN PROGRESS", new { }), typeof(ArgumentException), "IN PROGRESS"),
        Row("negative retry count", (c, id) => c.MarkRetryAsync(id, new InvalidOperationException("x"), -1), typeof(ArgumentOutOfRangeException), "retries"),
        Row("no exception for a failure", (c, id) => c.MarkFailedAsync(id, null!), typeof(ArgumentNullException), "exception"),

        // Fields checked by the silo's writer
        Row("group id with a control character", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { GroupId = "g\u0001" }), typeof(ArgumentException), "groupId", "U+0001"),
        Row("parent id too long", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { ParentId = TooLong }), typeof(ArgumentException), "parentId"),
        Row("child id empty", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Children = [""] }), typeof(ArgumentException), "children"),
        Row("task name too long", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Name = TooLong }), typeof(ArgumentException), "name", "255"),
        Row("worker with a tab", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Worker = "w\t1" }), typeof(ArgumentException), "worker", "U+0009"),
        Row("value over the size limit", (c, id) => c.MarkSucceededAsync(id, new string('a', 17 * 1024 * 1024)), typeof(ResultTooLargeException), "bytes", "ResultGrid:MaxResultBytes"),

        // Serializers and compression
        Row("unknown serializer", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Serializer = "pickle" }), typeof(ArgumentException), "pickle", "known"),
        Row("unknown compression", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Compression = "lz4" }), typeof(ArgumentException), "lz4", "allowed"),
        Row("serializer this client does not accept", (c, id) => c.MarkSucceededAsync(id, 1, new ResultWriteOptions { Serializer = "msgpack" }), typeof(Serialization.ContentTypeNotAcceptedException), "msgpack"),

        // Groups and chords
        Row("group listing a child twice", (c, id) => c.SaveGroupAsync(id, [id + "-a", id + "-a"]), typeof(ArgumentException), "twice"),
        Row("group with an empty child id", (c, id) => c.SaveGroupAsync(id, [""]), typeof(ArgumentException), "taskIds"),
        Row("group id empty", (c, id) => c.SaveGroupAsync("", [id]), typeof(ArgumentException), "groupId"),
        Row("join of a group never saved", (c, id) => c.JoinAsync<int>(id, TimeSpan.FromSeconds(5)), typeof(InvalidOperationException), "No group", "is saved"),
        Row("chord body that is also a header child", (c, id) => c.SaveChordAsync(id, [id + "-a"], "test.concat", bodyTaskId: id + "-a"), typeof(ArgumentException), "also a child"),
        Row("chord without a body name", (c, id) => c.SaveChordAsync(id, [id + "-a"], " "), typeof(ArgumentException), "bodyName"),

        // Submissions
        Row("submission of an unregistered task", (c, _) => c.SubmitAsync("no.such.task"), typeof(TaskNotRegisteredException), "no.such.task", "Registered tasks"),
        Row("submission without a name", (c, _) => c.SubmitAsync(" "), typeof(ArgumentException), "name"),
        Row("submission with a bad task id", (c, _) => c.SubmitAsync("test.add", null, new SubmitOptions { TaskId = "a\u0007" }), typeof(ArgumentException), "U+0007"),

        // Search
        Row("search on a backend without indexes", (c, _) => c.QueryAsync(new ResultQuery()), typeof(NotSupportedException), "SQL"),
        Row("search page size 0", (c, _) => c.QueryAsync(new ResultQuery { PageSize = 0 }), typeof(ArgumentException), "PageSize", "1 to"),
        Row("search with an inverted date range", (c, _) => c.QueryAsync(new ResultQuery { DoneFrom = DateTimeOffset.UtcNow, DoneBefore = DateTimeOffset.UtcNow.AddDays(-1) }), typeof(ArgumentException), "DoneFrom", "before"),
        Row("search for an empty state", (c, _) => c.QueryAsync(new ResultQuery { States = [""] }), typeof(ArgumentException), "state"),
    ];

    /// <summary>The rows by name: a string is what xunit can show and run one by one.</summary>
    public static TheoryData<string> Cases => new(All.Select(c => c.Name));

    [Fact]
    public void Every_row_has_its_own_name() => Assert.Equal(All.Length, All.Select(c => c.Name).Distinct().Count());

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_refused_with_its_class_and_a_message_naming_it(string name)
    {
        var row = All.Single(c => c.Name == name);
        var id = $"corpus-{Guid.NewGuid():N}";
        var error = await Assert.ThrowsAnyAsync<Exception>(() => row.Call(cluster.External, id));
        Assert.True(error.GetType() == row.Error, $"{row.Name}: expected {row.Error.Name}, got {error.GetType().Name}: {error.Message}");
        foreach (var fragment in row.Fragments)
        {
            Assert.True(error.Message.Contains(fragment, StringComparison.OrdinalIgnoreCase), $"{row.Name}: the message does not name '{fragment}': {error.Message}");
        }

        // A refused call stores nothing under the id it was given.
        Assert.False(await cluster.External.ExistsAsync(id, Ct), $"{row.Name}: something was stored");
    }
}
