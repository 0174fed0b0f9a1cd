using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;
using ResultGrid.Grains;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// results/{id} on a real Kestrel and a memory:// silo with extended results on: reads (PENDING,
/// SUCCESS, PROGRESS, FAILURE, extended fields, ETag, raw bytes with their encoding), the wait
/// woken by a .NET write, the event stream's framing and keep-alives, writes, forget and revoke.
/// </summary>
[Trait("Backend", "memory")]
public sealed partial class HttpResultTests(HttpResultTests.Silo fixture) : IClassFixture<HttpResultTests.Silo>
{
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?>
            {
                ["ResultGrid:ExtendedResults"] = "true",
                ["ResultGrid:Http:KeepAliveSeconds"] = "1",
                ["ResultGrid:Serialization:AcceptContent:0"] = "json",
                ["ResultGrid:Serialization:AcceptContent:1"] = "raw",
            },
            cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    private IResultGridClient Sdk => S.Client;

    private long ActiveWaiters => S.Services.GetRequiredService<ResultGridMetrics>().ActiveWaiters;

    private Task<HttpResponseMessage> GetAsync(string route) => S.Http.GetAsync(S.Api(route), Ct);

    private async Task<JsonElement> ViewAsync(string id) => await ReadJsonAsync(await GetAsync($"results/{id}"));

    [GeneratedRegex("^event: state\nid: [0-9a-f]{16}\ndata: \\{[^\n]*\\}\n\n", RegexOptions.CultureInvariant)]
    private static partial Regex StateEventFraming();

    // ---- GET results/{id} ----

    [Fact]
    public async Task An_unknown_id_is_PENDING_with_existence_pending()
    {
        var view = await ViewAsync(NewId("unknown"));

        Assert.Equal("PENDING", Text(view, "state"));
        Assert.False(view.GetProperty("ready").GetBoolean());
        Assert.Equal("pending", Text(view, "existence"));
        Assert.False(view.TryGetProperty("value", out _));
        Assert.Equal(0, view.GetProperty("children").GetArrayLength());
    }

    [Fact]
    public async Task A_SUCCESS_written_by_the_SDK_shows_its_JSON_value_as_JSON()
    {
        var id = NewId("success");
        await Sdk.MarkSucceededAsync(id, new { answer = 42, text = "ü <b>+</b>", list = new List<int> { 1, 2, 3 } }, cancellationToken: Ct);

        var view = await ViewAsync(id);

        Assert.Equal("SUCCESS", Text(view, "state"));
        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.Equal("stored", Text(view, "existence"));
        var value = view.GetProperty("value");
        Assert.Equal(JsonValueKind.Object, value.ValueKind);
        Assert.Equal(42, value.GetProperty("answer").GetInt32());
        Assert.Equal("ü <b>+</b>", value.GetProperty("text").GetString());
        Assert.Equal([1, 2, 3], value.GetProperty("list").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(view.TryGetProperty("dateDone", out var done) && done.GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.False(view.TryGetProperty("valueBase64", out _));
    }

    [Fact]
    public async Task A_PROGRESS_state_shows_its_meta_and_is_not_ready()
    {
        var id = NewId("progress");
        await Sdk.UpdateStateAsync(id, "PROGRESS", new { current = 3, total = 10 }, cancellationToken: Ct);

        var view = await ViewAsync(id);

        Assert.Equal("PROGRESS", Text(view, "state"));
        Assert.False(view.GetProperty("ready").GetBoolean());
        Assert.Equal("stored", Text(view, "existence"));
        Assert.Equal(3, view.GetProperty("meta").GetProperty("current").GetInt32());
        Assert.Equal(10, view.GetProperty("meta").GetProperty("total").GetInt32());
        Assert.False(view.TryGetProperty("value", out _));
    }

    [Fact]
    public async Task A_FAILURE_written_by_the_SDK_shows_type_message_module_and_traceback()
    {
        var id = NewId("failure");
        Exception thrown;
        try
        {
            throw new InvalidOperationException("the disk is full");
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        await Sdk.MarkFailedAsync(id, thrown, cancellationToken: Ct);

        var view = await ViewAsync(id);

        Assert.Equal("FAILURE", Text(view, "state"));
        Assert.True(view.GetProperty("ready").GetBoolean());
        var failure = view.GetProperty("failure");
        Assert.Equal("InvalidOperationException", Text(failure, "type"));
        Assert.Equal("the disk is full", Text(failure, "message"));
        Assert.Equal("System", Text(failure, "module"));
        var traceback = Text(failure, "traceback");
        Assert.NotNull(traceback);
        Assert.Contains(nameof(A_FAILURE_written_by_the_SDK_shows_type_message_module_and_traceback), traceback, StringComparison.Ordinal);
        Assert.Equal(traceback, Text(view, "traceback"));
        Assert.False(view.TryGetProperty("value", out _));
    }

    [Fact]
    public async Task Extended_fields_group_parent_and_children_are_shown()
    {
        var id = NewId("extended");
        await Sdk.MarkSucceededAsync(id, 7, new ResultWriteOptions
        {
            Name = "tasks.add",
            Args = new List<int> { 3, 4 },
            Kwargs = new Dictionary<string, object> { ["round"] = true },
            Worker = "worker-1@host",
            Queue = "math",
            Retries = 2,
            GroupId = "g-ext",
            ParentId = "p-ext",
            Children = ["c1", "c2"],
        }, Ct);

        var view = await ViewAsync(id);

        Assert.Equal(7, view.GetProperty("value").GetInt32());
        Assert.Equal("tasks.add", Text(view, "name"));
        Assert.Equal([3, 4], view.GetProperty("args").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(view.GetProperty("kwargs").GetProperty("round").GetBoolean());
        Assert.Equal("worker-1@host", Text(view, "worker"));
        Assert.Equal("math", Text(view, "queue"));
        Assert.Equal(2, view.GetProperty("retries").GetInt32());
        Assert.Equal("g-ext", Text(view, "groupId"));
        Assert.Equal("p-ext", Text(view, "parentId"));
        Assert.Equal(["c1", "c2"], view.GetProperty("children").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task An_ETag_revalidates_with_304_until_the_result_changes()
    {
        var id = NewId("etag");
        await Sdk.UpdateStateAsync(id, "PROGRESS", new { step = 1 }, cancellationToken: Ct);
        using var first = await GetAsync($"results/{id}");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        Assert.Matches("^\"[0-9a-f]{16}\"$", etag.Tag);

        using var again = await SendAsync(S.Http, HttpMethod.Get, S.Api($"results/{id}"), null, ("If-None-Match", etag.Tag));
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Empty(await again.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(etag, again.Headers.ETag);

        await Sdk.MarkSucceededAsync(id, "done", cancellationToken: Ct);
        using var changed = await SendAsync(S.Http, HttpMethod.Get, S.Api($"results/{id}"), null, ("If-None-Match", etag.Tag));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
        Assert.Equal("SUCCESS", Text(await ReadJsonAsync(changed), "state"));
    }

    [Fact]
    public async Task Raw_gives_the_stored_bytes_with_their_content_type_and_gzip_content_encoding()
    {
        var id = NewId("gzip");
        var value = new { text = string.Concat(Enumerable.Repeat("compress me ", 400)) };
        await Sdk.MarkSucceededAsync(id, value, new ResultWriteOptions { Compression = "gzip" }, Ct);
        var record = (await Sdk.GetAsync(id, Ct)).Record;
        Assert.Equal("gzip", record.Payload!.ContentEncoding);

        using var raw = await GetAsync($"results/{id}?raw=true");

        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("application/json", raw.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["gzip"], raw.Content.Headers.ContentEncoding);
        var bytes = await raw.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(record.Payload.Data, bytes);
        await using var gunzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        await gunzip.CopyToAsync(plain, Ct);
        using var decoded = JsonDocument.Parse(plain.ToArray());
        Assert.Equal(value.text, decoded.RootElement.GetProperty("text").GetString());

        // The JSON view undoes the compression.
        var view = await ViewAsync(id);
        Assert.Equal(value.text, view.GetProperty("value").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Raw_gives_binary_bytes_with_their_content_type_and_no_content_encoding_and_the_view_gives_base64()
    {
        var id = NewId("raw");
        byte[] blob = [0, 1, 2, 0xFF, 0xFE, (byte)'\n', 0x80];
        await Sdk.MarkSucceededAsync(id, blob, new ResultWriteOptions { Serializer = "raw" }, Ct);

        using var raw = await GetAsync($"results/{id}?raw=true");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("application/octet-stream", raw.Content.Headers.ContentType?.MediaType);
        Assert.Empty(raw.Content.Headers.ContentEncoding);
        Assert.Equal(blob, await raw.Content.ReadAsByteArrayAsync(Ct));

        var view = await ViewAsync(id);
        Assert.Equal(Convert.ToBase64String(blob), Text(view, "valueBase64"));
        Assert.Equal("application/octet-stream", Text(view, "contentType"));
        Assert.False(view.TryGetProperty("value", out _));
    }

    [Fact]
    public async Task Raw_of_a_result_with_no_value_is_a_404_problem()
    {
        var id = NewId("raw-none");
        using var response = await GetAsync($"results/{id}?raw=true");
        await ReadProblemAsync(response, HttpStatusCode.NotFound, id, "PENDING");
    }

    // ---- wait ----

    [Fact]
    public async Task A_wait_parked_in_the_grain_is_answered_when_dotnet_writes()
    {
        var id = NewId("wait");

        // Tests of this class run one at a time: once the waiters of earlier ones are gone, only this one counts.
        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(10)), $"{ActiveWaiters} waiters left over");
        var before = ActiveWaiters;
        var started = DateTime.UtcNow;
        var wait = GetAsync($"results/{id}/wait?timeout=30");

        // Parked: the result grain holds its waiter, and no answer came.
        Assert.True(await EventuallyAsync(() => ActiveWaiters > before, TimeSpan.FromSeconds(10)), "the wait never reached the result grain");
        await Task.Delay(300, Ct);
        Assert.False(wait.IsCompleted, "the wait answered before anything was written");

        await Sdk.MarkSucceededAsync(id, new { woken = true }, cancellationToken: Ct);
        using var response = await wait;
        var elapsed = DateTime.UtcNow - started;

        var view = await ReadJsonAsync(response);
        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.Equal("SUCCESS", Text(view, "state"));
        Assert.True(view.GetProperty("value").GetProperty("woken").GetBoolean());
        Assert.True(elapsed < TimeSpan.FromSeconds(25), $"answered after {elapsed}, at the timeout rather than at the write");
    }

    [Fact]
    public async Task A_wait_that_times_out_answers_ready_false_with_the_current_state()
    {
        var id = NewId("wait-timeout");
        await Sdk.UpdateStateAsync(id, "PROGRESS", new { current = 5 }, cancellationToken: Ct);
        var started = DateTime.UtcNow;

        var view = await ReadJsonAsync(await GetAsync($"results/{id}/wait?timeout=0.8"));

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.7), "answered before the timeout");
        Assert.False(view.GetProperty("ready").GetBoolean());
        Assert.Equal("PROGRESS", Text(view, "state"));
        Assert.Equal(5, view.GetProperty("meta").GetProperty("current").GetInt32());
    }

    [Fact]
    public async Task A_wait_on_a_ready_result_answers_at_once()
    {
        var id = NewId("wait-ready");
        await Sdk.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        var started = DateTime.UtcNow;

        var view = await ReadJsonAsync(await GetAsync($"results/{id}/wait?timeout=20"));

        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    // ---- events ----

    [Fact]
    public async Task Events_give_the_current_state_then_PROGRESS_then_SUCCESS_in_SSE_framing_and_end()
    {
        var id = NewId("events");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var (response, events) = await OpenEventsAsync(S.Http, S.Api($"results/{id}/events"), timeout.Token);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("no-cache", response.Headers.CacheControl?.ToString() ?? string.Empty, StringComparison.Ordinal);

            var first = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(first);
            Assert.Equal("state", first.Event);
            Assert.Equal("PENDING", Text(first.Data, "state"));
            Assert.Equal(id, Text(first.Data, "taskId"));

            await Sdk.UpdateStateAsync(id, "PROGRESS", new { current = 1, total = 2 }, cancellationToken: Ct);
            var progress = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(progress);
            Assert.Equal("PROGRESS", Text(progress.Data, "state"));
            Assert.Equal(1, progress.Data.GetProperty("meta").GetProperty("current").GetInt32());
            Assert.False(progress.Data.GetProperty("ready").GetBoolean());

            await Sdk.MarkSucceededAsync(id, new { total = 2 }, cancellationToken: Ct);
            var success = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(success);
            Assert.Equal("SUCCESS", Text(success.Data, "state"));
            Assert.True(success.Data.GetProperty("ready").GetBoolean());
            Assert.Equal(2, success.Data.GetProperty("value").GetProperty("total").GetInt32());

            // After READY the stream ends.
            Assert.Null(await events.NextEventAsync(timeout.Token));

            // The event id is the result's ETag.
            using var get = await GetAsync($"results/{id}");
            Assert.Equal(get.Headers.ETag?.Tag, $"\"{success.Id}\"");
            Assert.NotEqual(first.Id, progress.Id);

            // Framing: each event is event, id, one data line of JSON, a blank line; nothing else.
            var raw = Regex.Replace(events.Raw.ToString(), ": keep-alive\n\n", string.Empty);
            var blocks = 0;
            while (raw.Length > 0)
            {
                var match = StateEventFraming().Match(raw);
                Assert.True(match.Success, $"not an SSE state event: {raw}");
                raw = raw[match.Length..];
                blocks++;
            }

            Assert.Equal(3, blocks);
            Assert.All([first, progress, success], e => Assert.Equal(["event: state", $"id: {e.Id}", $"data: {e.DataLines[0]}"], e.Lines));
        }
    }

    [Fact]
    public async Task Events_of_a_ready_result_give_it_once_and_end()
    {
        var id = NewId("events-ready");
        await Sdk.MarkSucceededAsync(id, "already", cancellationToken: Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));

        var (response, events) = await OpenEventsAsync(S.Http, S.Api($"results/{id}/events"), timeout.Token);
        using (response)
        {
            var only = await events.NextEventAsync(timeout.Token);
            Assert.NotNull(only);
            Assert.Equal("SUCCESS", Text(only.Data, "state"));
            Assert.Equal("already", only.Data.GetProperty("value").GetString());
            Assert.Null(await events.NextEventAsync(timeout.Token));
        }
    }

    [Fact]
    public async Task Events_send_a_keep_alive_comment_every_KeepAliveSeconds()
    {
        var id = NewId("keepalive");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var (response, events) = await OpenEventsAsync(S.Http, S.Api($"results/{id}/events"), timeout.Token);
        using (response)
        {
            var first = await events.NextAsync(timeout.Token);
            Assert.Equal("PENDING", Text(first!.Data, "state"));

            var started = DateTime.UtcNow;
            var comments = 0;
            while (comments < 2)
            {
                var next = await events.NextAsync(timeout.Token);
                Assert.NotNull(next);
                Assert.True(next.IsComment, $"expected only keep-alives while nothing changes, got {string.Join(" / ", next.Lines)}");
                Assert.Equal([": keep-alive"], next.Lines);
                comments++;
            }

            // Two comments at 1 s intervals: not far under 2 s, and well under 15 s (the default).
            var elapsed = DateTime.UtcNow - started;
            Assert.InRange(elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
            Assert.Contains(": keep-alive\n\n", events.Raw.ToString(), StringComparison.Ordinal);

            // The stream still carries the change that comes after the comments.
            await Sdk.MarkSucceededAsync(id, 1, cancellationToken: Ct);
            var done = await events.NextEventAsync(timeout.Token);
            Assert.Equal("SUCCESS", Text(done!.Data, "state"));
        }
    }

    // ---- PUT ----

    [Fact]
    public async Task Put_stores_a_SUCCESS_that_the_SDK_reads()
    {
        var id = NewId("put");
        using var response = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":{"sum":5,"parts":[2,3]},"name":"tasks.add","args":[2,3],"kwargs":{"k":"v"},"worker":"py-1","retries":1,"queue":"q","group":"g1","parent":"p1","children":["c"],"expires":3600}"""), Ct);

        var answer = await ReadJsonAsync(response);
        Assert.Equal(id, Text(answer, "taskId"));
        Assert.Equal("SUCCESS", Text(answer, "state"));
        Assert.Equal("stored", Text(answer, "outcome"));
        Assert.True(answer.GetProperty("stored").GetBoolean());

        var outcome = await Sdk.WaitAsync<JsonElement>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.Equal(5, outcome.Value.GetProperty("sum").GetInt32());
        var info = await Sdk.GetAsync(id, Ct);
        Assert.Equal("tasks.add", info.Name);
        Assert.Equal("py-1", info.Worker);
        Assert.Equal(1, info.Retries);
        Assert.Equal("g1", info.GroupId);
        Assert.Equal("p1", info.ParentId);
        Assert.Equal(["c"], info.Children);
        Assert.InRange(info.Record.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddMinutes(55), DateTimeOffset.UtcNow.AddMinutes(65));

        var view = await ViewAsync(id);
        Assert.Equal([2, 3], view.GetProperty("args").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("v", view.GetProperty("kwargs").GetProperty("k").GetString());
    }

    [Fact]
    public async Task Put_of_a_second_result_after_SUCCESS_keeps_the_SUCCESS_and_says_so()
    {
        var id = NewId("kept");
        using (var first = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":"first"}"""), Ct))
        {
            Assert.Equal("stored", Text(await ReadJsonAsync(first), "outcome"));
        }

        var before = await SnapshotAsync(S, id);
        foreach (var body in new[] { """{"state":"SUCCESS","result":"second"}""", """{"state":"FAILURE","error":{"type":"ValueError","message":"late"}}""", """{"state":"PROGRESS","meta":{"x":1}}""" })
        {
            using var again = await S.Http.PutAsync(S.Api($"results/{id}"), Json(body), Ct);
            var answer = await ReadJsonAsync(again);
            Assert.Equal("keptSuccess", Text(answer, "outcome"));
            Assert.False(answer.GetProperty("stored").GetBoolean());
            Assert.Contains("never replaced", Text(answer, "detail"), StringComparison.Ordinal);
        }

        Assert.Equal(before, await SnapshotAsync(S, id));
        Assert.Equal("first", (await ViewAsync(id)).GetProperty("value").GetString());
    }

    [Fact]
    public async Task Put_stores_PROGRESS_meta_and_a_FAILURE_with_its_error()
    {
        var id = NewId("put-failure");
        using (var progress = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"PROGRESS","meta":{"done":40}}"""), Ct))
        {
            Assert.Equal("stored", Text(await ReadJsonAsync(progress), "outcome"));
        }

        Assert.Equal(40, (await ViewAsync(id)).GetProperty("meta").GetProperty("done").GetInt32());

        using (var failure = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"FAILURE","error":{"type":"KeyError","message":"'user'","module":"builtins","traceback":"Traceback (most recent call last):\n  File \"w.py\", line 3\nKeyError: 'user'"}}"""), Ct))
        {
            Assert.Equal("FAILURE", Text(await ReadJsonAsync(failure), "state"));
        }

        var view = await ViewAsync(id);
        var f = view.GetProperty("failure");
        Assert.Equal("KeyError", Text(f, "type"));
        Assert.Equal("'user'", Text(f, "message"));
        Assert.Equal("builtins", Text(f, "module"));
        Assert.StartsWith("Traceback (most recent call last):\n", Text(f, "traceback"), StringComparison.Ordinal);

        // The SDK reads the same failure.
        var outcome = await Sdk.WaitAsync<int>(id, TimeSpan.FromSeconds(10), propagate: false, cancellationToken: Ct);
        Assert.Equal("KeyError", outcome.Failure!.ExceptionType);
    }

    // ---- DELETE and revoke ----

    [Fact]
    public async Task Delete_forgets_once_then_answers_false()
    {
        var id = NewId("forget");
        await Sdk.MarkSucceededAsync(id, 1, cancellationToken: Ct);

        using (var first = await S.Http.DeleteAsync(S.Api($"results/{id}"), Ct))
        {
            var answer = await ReadJsonAsync(first);
            Assert.Equal(id, Text(answer, "taskId"));
            Assert.True(answer.GetProperty("forgotten").GetBoolean());
        }

        using (var second = await S.Http.DeleteAsync(S.Api($"results/{id}"), Ct))
        {
            Assert.False((await ReadJsonAsync(second)).GetProperty("forgotten").GetBoolean());
        }

        Assert.Equal("PENDING", Text(await ViewAsync(id), "state"));
        Assert.Equal("PENDING", (await Sdk.GetAsync(id, Ct)).State);
    }

    [Fact]
    public async Task Revoke_stores_REVOKED_with_the_reason_and_never_replaces_SUCCESS()
    {
        var id = NewId("revoke");
        await Sdk.MarkStartedAsync(id, cancellationToken: Ct);
        using (var response = await S.Http.PostAsync(S.Api($"results/{id}/revoke"), Json("""{"reason":"operator cancelled"}"""), Ct))
        {
            var answer = await ReadJsonAsync(response);
            Assert.Equal("REVOKED", Text(answer, "state"));
            Assert.Equal("stored", Text(answer, "outcome"));
        }

        var view = await ViewAsync(id);
        Assert.Equal("REVOKED", Text(view, "state"));
        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.Equal("TaskRevokedError", Text(view.GetProperty("failure"), "type"));
        Assert.Equal("operator cancelled", Text(view.GetProperty("failure"), "message"));
        Assert.Equal("REVOKED", (await Sdk.GetAsync(id, Ct)).State);

        // Without a body, and on a SUCCESS: kept.
        var done = NewId("revoke-success");
        await Sdk.MarkSucceededAsync(done, 9, cancellationToken: Ct);
        using (var response = await S.Http.PostAsync(S.Api($"results/{done}/revoke"), null, Ct))
        {
            var answer = await ReadJsonAsync(response);
            Assert.Equal("keptSuccess", Text(answer, "outcome"));
            Assert.False(answer.GetProperty("stored").GetBoolean());
        }

        Assert.Equal(9, (await ViewAsync(done)).GetProperty("value").GetInt32());
    }
}
