using System.Net;
using System.Text.Json;
using ResultGrid.Client;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>groups/{id}: save, status with each child's state, join in submission order, and the child/done event stream, on a memory:// silo.</summary>
[Trait("Backend", "memory")]
public sealed class HttpGroupTests(HttpGroupTests.Silo fixture) : IClassFixture<HttpGroupTests.Silo>
{
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync("memory://", cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    private IResultGridClient Sdk => S.Client;

    private static string[] Children(string group, int count) => [.. Enumerable.Range(0, count).Select(i => $"{group}-c{i}")];

    private async Task<JsonElement> SaveAsync(string group, string[] children)
    {
        using var response = await S.Http.PutAsync(S.Api($"groups/{group}"), Json(new { taskIds = children }), Ct);
        return await ReadJsonAsync(response);
    }

    [Fact]
    public async Task Put_saves_a_group_and_Get_shows_counts_and_each_child_state_in_submission_order()
    {
        var group = NewId("grp");
        var ids = Children(group, 3);

        var saved = await SaveAsync(group, ids);
        Assert.Equal(group, Text(saved, "groupId"));
        Assert.True(saved.GetProperty("exists").GetBoolean());
        Assert.Equal(3, saved.GetProperty("total").GetInt32());
        Assert.Equal(0, saved.GetProperty("completed").GetInt32());
        Assert.Equal(3, saved.GetProperty("waiting").GetInt32());
        Assert.False(saved.GetProperty("ready").GetBoolean());

        // The SDK sees the same group.
        Assert.Equal(3, (await Sdk.GetGroupAsync(group, Ct)).Total);

        await Sdk.MarkSucceededAsync(ids[2], "two", new ResultWriteOptions { GroupId = group }, Ct);
        await Sdk.MarkFailedAsync(ids[0], new InvalidOperationException("zero broke"), new ResultWriteOptions { GroupId = group }, Ct);
        await Sdk.UpdateStateAsync(ids[1], "PROGRESS", new { half = true }, new ResultWriteOptions { GroupId = group }, Ct);

        var status = await ReadJsonAsync(await S.Http.GetAsync(S.Api($"groups/{group}"), Ct));
        Assert.Equal(3, status.GetProperty("total").GetInt32());
        Assert.Equal(2, status.GetProperty("completed").GetInt32());
        Assert.Equal(1, status.GetProperty("succeeded").GetInt32());
        Assert.Equal(1, status.GetProperty("failed").GetInt32());
        Assert.Equal(1, status.GetProperty("waiting").GetInt32());
        Assert.False(status.GetProperty("ready").GetBoolean());
        Assert.Equal(
            [(ids[0], "FAILURE"), (ids[1], "PROGRESS"), (ids[2], "SUCCESS")],
            status.GetProperty("children").EnumerateArray().Select(c => (Text(c, "taskId"), Text(c, "state"))));
    }

    [Fact]
    public async Task Join_gives_every_value_in_submission_order_once_all_are_ready()
    {
        var group = NewId("join");
        var ids = Children(group, 4);
        await SaveAsync(group, ids);

        var started = DateTime.UtcNow;
        var join = S.Http.GetAsync(S.Api($"groups/{group}/join?timeout=30"), Ct);

        // Completed in reverse order, while the join is parked.
        await Task.Delay(300, Ct);
        foreach (var i in new[] { 3, 2, 1 })
        {
            await Sdk.MarkSucceededAsync(ids[i], i * 10, new ResultWriteOptions { GroupId = group }, Ct);
        }

        Assert.False(join.IsCompleted, "the join answered before every child was ready");
        await Sdk.MarkSucceededAsync(ids[0], 0, new ResultWriteOptions { GroupId = group }, Ct);

        var answer = await ReadJsonAsync(await join);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(25));
        Assert.Equal(group, Text(answer, "groupId"));
        Assert.True(answer.GetProperty("ready").GetBoolean());
        var results = answer.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(ids, results.Select(r => Text(r, "taskId")));
        Assert.Equal([0, 10, 20, 30], results.Select(r => r.GetProperty("value").GetInt32()));
        Assert.All(results, r => Assert.Equal("SUCCESS", Text(r, "state")));
    }

    [Fact]
    public async Task Join_at_its_timeout_answers_ready_false_with_the_group_status()
    {
        var group = NewId("join-timeout");
        var ids = Children(group, 2);
        await SaveAsync(group, ids);
        await Sdk.MarkSucceededAsync(ids[0], 1, new ResultWriteOptions { GroupId = group }, Ct);
        var started = DateTime.UtcNow;

        var answer = await ReadJsonAsync(await S.Http.GetAsync(S.Api($"groups/{group}/join?timeout=0.8"), Ct));

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.7));
        Assert.False(answer.GetProperty("ready").GetBoolean());
        Assert.False(answer.TryGetProperty("results", out _));
        var status = answer.GetProperty("status");
        Assert.Equal(2, status.GetProperty("total").GetInt32());
        Assert.Equal(1, status.GetProperty("completed").GetInt32());
        Assert.Equal(1, status.GetProperty("waiting").GetInt32());
    }

    [Fact]
    public async Task Events_give_one_child_event_per_child_as_it_completes_then_done_then_end()
    {
        var group = NewId("gevents");
        var ids = Children(group, 3);
        await SaveAsync(group, ids);
        await Sdk.MarkSucceededAsync(ids[1], "first", new ResultWriteOptions { GroupId = group }, Ct);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var (response, events) = await OpenEventsAsync(S.Http, S.Api($"groups/{group}/events"), timeout.Token);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

            // The child already complete comes at once; the others as they complete.
            var seen = new List<ServerEvent>();
            var first = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(first);
            seen.Add(first);

            await Sdk.MarkFailedAsync(ids[2], new InvalidOperationException("two broke"), new ResultWriteOptions { GroupId = group }, Ct);
            seen.Add((await events.NextEventAsync(timeout.Token))!);
            await Sdk.UpdateStateAsync(ids[0], "PROGRESS", new { p = 1 }, new ResultWriteOptions { GroupId = group }, Ct);
            await Sdk.MarkSucceededAsync(ids[0], "last", new ResultWriteOptions { GroupId = group }, Ct);
            seen.Add((await events.NextEventAsync(timeout.Token))!);

            Assert.All(seen, e => Assert.Equal("child", e.Event));
            Assert.Equal([ids[1], ids[2], ids[0]], seen.Select(e => Text(e.Data, "taskId")));
            Assert.Equal([ids[1], ids[2], ids[0]], seen.Select(e => e.Id));
            Assert.Equal(["SUCCESS", "FAILURE", "SUCCESS"], seen.Select(e => Text(e.Data, "state")));
            Assert.Equal("first", seen[0].Data.GetProperty("value").GetString());
            Assert.Equal("two broke", Text(seen[1].Data.GetProperty("failure"), "message"));
            Assert.All(seen, e => Assert.Single(e.DataLines));

            var done = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(done);
            Assert.Equal("done", done.Event);
            Assert.Null(done.Id);
            Assert.Equal(group, Text(done.Data, "groupId"));
            Assert.True(done.Data.GetProperty("ready").GetBoolean());
            Assert.Equal(3, done.Data.GetProperty("completed").GetInt32());
            Assert.Equal(1, done.Data.GetProperty("failed").GetInt32());

            Assert.Null(await events.NextEventAsync(timeout.Token));
        }
    }

    [Fact]
    public async Task Get_of_a_chord_shows_its_body()
    {
        // Issue 15: "GET groups/{id} (counts, each child's state, chord body)".
        var group = NewId("chord");
        var ids = Children(group, 2);
        var bodyId = NewId("chord-body");
        await Sdk.SaveChordAsync(group, ids, "tasks.summarise", bodyId, cancellationToken: Ct);

        using var response = await S.Http.GetAsync(S.Api($"groups/{group}"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("tasks.summarise", text, StringComparison.Ordinal);
        Assert.Contains(bodyId, text, StringComparison.Ordinal);
    }
}
