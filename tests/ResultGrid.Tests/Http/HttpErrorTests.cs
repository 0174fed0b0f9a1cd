using System.Net;
using System.Text;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// Every refusal is RFC 9457 problem+json naming what was wrong and what is allowed, and a
/// refused write leaves what was stored exactly as it was. A memory:// silo with
/// ResultGrid:MaxResultBytes=4096 and ResultGrid:Http:MaxWaitSeconds=20.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HttpErrorTests(HttpErrorTests.Silo fixture) : IClassFixture<HttpErrorTests.Silo>
{
    public const int MaxResultBytes = 4096;

    // MaxResultBytes plus the 64 KiB the API allows for the fields around the value.
    public const int MaxBodyBytes = MaxResultBytes + 64 * 1024;

    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?>
            {
                ["ResultGrid:MaxResultBytes"] = MaxResultBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ResultGrid:Http:MaxWaitSeconds"] = "20",
            },
            cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    private static readonly string LongId = new('a', 256);

    /// <summary>A result stored before the bad request: PROGRESS, so that any write that got through would change it.</summary>
    private async Task<(string Id, string Snapshot)> StoredAsync()
    {
        var id = NewId("kept");
        await S.Client.UpdateStateAsync(id, "PROGRESS", new { step = 1 }, cancellationToken: Ct);
        return (id, await SnapshotAsync(S, id));
    }

    public static TheoryData<string, string, string, int, string[]> BadWrites => new()
    {
        { "malformed JSON", "application/json", """{"state":"SUCCESS","result":""", 400, ["The body is not valid JSON"] },
        { "a JSON array", "application/json", """[{"state":"SUCCESS","result":1}]""", 400, ["The body is a JSON array", "it must be a JSON object"] },
        { "a JSON string", "application/json", "\"SUCCESS\"", 400, ["The body is a JSON string"] },
        { "an unknown field", "application/json", """{"state":"SUCCESS","result":1,"reslt":2}""", 400, ["'reslt' is not a field", "the fields are state, result, meta, error"] },
        { "an empty body", "application/json", "", 400, ["no body", "application/json"] },
        { "no state", "application/json", """{"result":1}""", 400, ["'state' is missing", "SUCCESS, FAILURE"] },
        { "PENDING", "application/json", """{"state":"PENDING"}""", 400, ["PENDING", "cannot be written"] },
        { "a state that is no state name", "application/json", """{"state":"not a state!","meta":{}}""", 400, ["'not a state!'", "ASCII letters, digits"] },
        { "FAILURE without error", "application/json", """{"state":"FAILURE"}""", 400, ["FAILURE needs 'error'", "type"] },
        { "FAILURE without error.type", "application/json", """{"state":"FAILURE","error":{"message":"x"}}""", 400, ["'error.type' is missing"] },
        { "FAILURE with an unknown error field", "application/json", """{"state":"FAILURE","error":{"type":"E","stack":"x"}}""", 400, ["'error.stack'", "type, message, module, traceback"] },
        { "FAILURE with a result", "application/json", """{"state":"FAILURE","result":1,"error":{"type":"E"}}""", 400, ["'error'", "not 'result'"] },
        { "SUCCESS with meta", "application/json", """{"state":"SUCCESS","meta":{}}""", 400, ["SUCCESS takes its value in 'result'"] },
        { "PROGRESS with a result", "application/json", """{"state":"PROGRESS","result":1}""", 400, ["PROGRESS takes its data in 'meta'"] },
        { "retries not a number", "application/json", """{"state":"SUCCESS","result":1,"retries":"two"}""", 400, ["'retries' is \"two\"", "whole number"] },
        { "negative expires", "application/json", """{"state":"SUCCESS","result":1,"expires":-5}""", 400, ["'expires' is -5", "\"never\""] },
        { "children not ids", "application/json", """{"state":"SUCCESS","result":1,"children":[1,2]}""", 400, ["'children' must be an array of task id strings"] },
        { "a name that is a number", "application/json", """{"state":"SUCCESS","result":1,"name":5}""", 400, ["'name' is a JSON number", "string"] },
        { "a bad group id", "application/json", $$"""{"state":"SUCCESS","result":1,"group":"{{new string('g', 300)}}"}""", 400, ["300 characters", "the limit of 255"] },
        { "a value over MaxResultBytes", "application/json", $$"""{"state":"SUCCESS","result":"{{new string('v', 2 * MaxResultBytes)}}"}""", 413, ["over the limit of 4096 bytes", "ResultGrid:MaxResultBytes", "Nothing was stored"] },
        { "meta over MaxResultBytes", "application/json", $$$"""{"state":"PROGRESS","meta":{"blob":"{{{new string('m', 2 * MaxResultBytes)}}}"}}""", 413, ["over the limit of 4096 bytes"] },
        { "a body over the limit", "application/json", $$"""{"state":"SUCCESS","result":"{{new string('b', MaxBodyBytes + 10)}}"}""", 413, ["over the limit of 69632 bytes", "Nothing was stored"] },
    };

    [Theory]
    [MemberData(nameof(BadWrites))]
    public async Task A_bad_PUT_is_a_problem_and_changes_nothing(string what, string contentType, string body, int status, string[] detail)
    {
        Assert.NotNull(what);
        var (id, before) = await StoredAsync();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await S.Http.PutAsync(S.Api($"results/{id}"), content, Ct);

        await ReadProblemAsync(response, (HttpStatusCode)status, detail);
        Assert.Equal(before, await SnapshotAsync(S, id));
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_a_415_problem_on_every_write_route_and_changes_nothing()
    {
        var (id, before) = await StoredAsync();
        var group = NewId("group415");
        foreach (var contentType in new[] { "text/plain", "application/x-www-form-urlencoded", "application/xml" })
        {
            foreach (var (method, route, body) in new (HttpMethod, string, string)[]
            {
                (HttpMethod.Put, $"results/{id}", """{"state":"SUCCESS","result":1}"""),
                (HttpMethod.Post, $"results/{id}/revoke", """{"reason":"r"}"""),
                (HttpMethod.Put, $"groups/{group}", """{"taskIds":["a"]}"""),
                (HttpMethod.Post, "tasks/anything", """{"args":1}"""),
            })
            {
                using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                using var response = await SendAsync(S.Http, method, S.Api(route), content);
                Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
                Assert.True(
                    response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                    $"{method} {route} with {contentType}: 415 with Content-Type '{response.Content.Headers.ContentType}' and body '{await response.Content.ReadAsStringAsync(Ct)}', not a problem document");
                await ReadProblemAsync(response, HttpStatusCode.UnsupportedMediaType, $"'{contentType}'", "application/json");
            }
        }

        Assert.Equal(before, await SnapshotAsync(S, id));
        using var gone = await S.Http.GetAsync(S.Api($"groups/{group}"), Ct);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413_and_changes_nothing()
    {
        var (id, before) = await StoredAsync();
        var bytes = Encoding.UTF8.GetBytes($$"""{"state":"SUCCESS","result":"{{new string('c', MaxBodyBytes * 2)}}"}""");
        using var content = new StreamContent(new UnknownLengthStream(bytes));
        content.Headers.ContentType = new("application/json");

        using var response = await S.Http.PutAsync(S.Api($"results/{id}"), content, Ct);

        Assert.Null(response.RequestMessage?.Content?.Headers.ContentLength);
        var problem = await ReadProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "Nothing was stored");
        Assert.Contains("6963", Detail(problem), StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync(S, id));
    }

    [Fact]
    public async Task A_write_after_SUCCESS_refused_for_its_body_leaves_the_SUCCESS()
    {
        var id = NewId("success-kept");
        await S.Client.MarkSucceededAsync(id, new { v = 1 }, cancellationToken: Ct);
        var before = await SnapshotAsync(S, id);

        using var malformed = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"FAILURE","""), Ct);
        await ReadProblemAsync(malformed, HttpStatusCode.BadRequest, "not valid JSON");
        using var big = await S.Http.PutAsync(S.Api($"results/{id}"), Json($$"""{"state":"SUCCESS","result":"{{new string('x', 3 * MaxResultBytes)}}"}"""), Ct);
        await ReadProblemAsync(big, HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(before, await SnapshotAsync(S, id));
    }

    public static TheoryData<string, string[]> BadIds => new()
    {
        { LongId, ["256 characters", "255"] },
        { "%20leading", ["white space", "no leading or trailing spaces"] },
        { "trailing%20", ["white space"] },
        { "a%01b", ["control character (U+0001)"] },
        { "tab%09in", ["control character (U+0009)"] },
    };

    [Theory]
    [MemberData(nameof(BadIds))]
    public async Task A_bad_id_is_a_400_problem_on_every_results_route(string id, string[] detail)
    {
        foreach (var (method, route, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, $"results/{id}", null),
            (HttpMethod.Get, $"results/{id}?raw=true", null),
            (HttpMethod.Get, $"results/{id}/wait?timeout=1", null),
            (HttpMethod.Get, $"results/{id}/events", null),
            (HttpMethod.Put, $"results/{id}", """{"state":"SUCCESS","result":1}"""),
            (HttpMethod.Delete, $"results/{id}", null),
            (HttpMethod.Post, $"results/{id}/revoke", null),
            (HttpMethod.Put, $"groups/{id}", """{"taskIds":["a"]}"""),
            (HttpMethod.Get, $"groups/{id}", null),
            (HttpMethod.Get, $"groups/{id}/join?timeout=1", null),
            (HttpMethod.Get, $"groups/{id}/events", null),
        })
        {
            using var response = await SendAsync(S.Http, method, S.Api(route), body is null ? null : Json(body));
            var problem = await ReadProblemAsync(response, HttpStatusCode.BadRequest, detail);
            Assert.Contains("id is not usable", Detail(problem), StringComparison.Ordinal);
        }

        // Nothing was stored under the id or under a trimmed one.
        var plain = Uri.UnescapeDataString(id).Trim();
        if (plain.Length <= 255 && !plain.Any(char.IsControl))
        {
            Assert.Equal("PENDING", (await S.Client.GetAsync(plain, Ct)).State);
        }
    }

    [Fact]
    public async Task A_bad_child_id_in_a_group_is_a_400_naming_it()
    {
        var group = NewId("group");
        using var response = await S.Http.PutAsync(S.Api($"groups/{group}"), Json($$"""{"taskIds":["ok","{{LongId}}"]}"""), Ct);
        await ReadProblemAsync(response, HttpStatusCode.BadRequest, "child task id", "256 characters");
        using var after = await S.Http.GetAsync(S.Api($"groups/{group}"), Ct);
        await ReadProblemAsync(after, HttpStatusCode.NotFound, group);
    }

    [Fact]
    public async Task A_raw_flag_that_is_not_a_boolean_is_a_400_problem_naming_it()
    {
        var (id, _) = await StoredAsync();
        using var response = await S.Http.GetAsync(S.Api($"results/{id}?raw=yes-please"), Ct);
        await ReadProblemAsync(response, HttpStatusCode.BadRequest, "raw", "yes-please");
    }

    public static TheoryData<string, string[]> BadTimeouts => new()
    {
        { "-1", ["timeout is -1", "from 0 to 20 seconds", "ResultGrid:Http:MaxWaitSeconds"] },
        { "abc", ["timeout is 'abc'", "not a number of seconds", "0 to 20"] },
        { "21", ["timeout is 21", "from 0 to 20 seconds"] },
        { "300", ["timeout is 300", "from 0 to 20 seconds"] },
        { "NaN", ["timeout is NaN"] },
        { "1e9", ["from 0 to 20 seconds"] },
        { "10s", ["timeout is '10s'", "not a number"] },
    };

    [Theory]
    [MemberData(nameof(BadTimeouts))]
    public async Task A_bad_timeout_is_a_400_problem_for_wait_and_join(string timeout, string[] detail)
    {
        var id = NewId("timeout");
        using var wait = await S.Http.GetAsync(S.Api($"results/{id}/wait?timeout={timeout}"), Ct);
        await ReadProblemAsync(wait, HttpStatusCode.BadRequest, detail);

        await S.Client.SaveGroupAsync(id, [NewId("child")], cancellationToken: Ct);
        using var join = await S.Http.GetAsync(S.Api($"groups/{id}/join?timeout={timeout}"), Ct);
        await ReadProblemAsync(join, HttpStatusCode.BadRequest, detail);
    }

    [Fact]
    public async Task A_wait_without_a_timeout_is_served_when_MaxWaitSeconds_is_under_the_default_30()
    {
        // The default timeout (30 s) is above this silo's MaxWaitSeconds (20): a wait that gives
        // none must wait up to the limit, not be refused for a value the client never sent.
        var id = NewId("default-timeout");
        await S.Client.MarkSucceededAsync(id, 3, cancellationToken: Ct);

        using var response = await S.Http.GetAsync(S.Api($"results/{id}/wait"), Ct);

        var view = await ReadJsonAsync(response);
        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.Equal(3, view.GetProperty("value").GetInt32());
    }

    public static TheoryData<string, string[]> BadSearches => new()
    {
        { "state=NO%20SUCH", ["state 'NO SUCH' is not a state", "Built-in states: PENDING"] },
        { "state=SUCCESS&state=b%24d", ["state 'b$d' is not a state"] },
        { "limit=0", ["limit is '0'", "from 1 to 1000"] },
        { "limit=1001", ["limit is '1001'", "from 1 to 1000"] },
        { "limit=ten", ["limit is 'ten'", "whole number"] },
        { "from=yesterday", ["from is 'yesterday'", "ISO 8601"] },
        { "before=2026-13-45", ["before is '2026-13-45'", "ISO 8601"] },
        { "from=2026-02-01T00:00:00Z&before=2026-01-01T00:00:00Z", ["must be before"] },
        { "status=SUCCESS", ["'status' is not a search parameter", "state, name, group, from, before, cursor, limit"] },
    };

    [Theory]
    [MemberData(nameof(BadSearches))]
    public async Task A_bad_search_parameter_is_a_400_problem_before_the_backend_is_asked(string query, string[] detail)
    {
        using var response = await S.Http.GetAsync(S.Api($"results?{query}"), Ct);
        await ReadProblemAsync(response, HttpStatusCode.BadRequest, detail);
    }

    [Fact]
    public async Task Search_on_memory_is_501_naming_the_backend_and_what_serves_it()
    {
        using var response = await S.Http.GetAsync(S.Api("results?state=SUCCESS"), Ct);
        var problem = await ReadProblemAsync(response, HttpStatusCode.NotImplemented);
        Assert.Contains("memory", Detail(problem), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("SQL", Detail(problem), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Bad_revoke_group_and_submit_bodies_are_400_problems_naming_the_fields()
    {
        var (id, before) = await StoredAsync();
        using (var revoke = await S.Http.PostAsync(S.Api($"results/{id}/revoke"), Json("""{"why":"x"}"""), Ct))
        {
            await ReadProblemAsync(revoke, HttpStatusCode.BadRequest, "'why'", "only \"reason\"");
        }

        using (var revoke = await S.Http.PostAsync(S.Api($"results/{id}/revoke"), Json("""{"reason":5}"""), Ct))
        {
            await ReadProblemAsync(revoke, HttpStatusCode.BadRequest, "'reason'", "a string");
        }

        Assert.Equal(before, await SnapshotAsync(S, id));

        var group = NewId("group");
        using (var save = await S.Http.PutAsync(S.Api($"groups/{group}"), Json("""{"ids":["a"]}"""), Ct))
        {
            await ReadProblemAsync(save, HttpStatusCode.BadRequest, "'ids' is not a field of a group", "taskIds and expires");
        }

        using (var save = await S.Http.PutAsync(S.Api($"groups/{group}"), Json("""{"taskIds":"a"}"""), Ct))
        {
            await ReadProblemAsync(save, HttpStatusCode.BadRequest, "'taskIds' must be an array");
        }

        using (var save = await S.Http.PutAsync(S.Api($"groups/{group}"), Json("""{"taskIds":["a"],"expires":0}"""), Ct))
        {
            await ReadProblemAsync(save, HttpStatusCode.BadRequest, "'expires' is 0");
        }

        using (var gone = await S.Http.GetAsync(S.Api($"groups/{group}"), Ct))
        {
            await ReadProblemAsync(gone, HttpStatusCode.NotFound, $"No group '{group}'");
        }

        using (var submit = await S.Http.PostAsync(S.Api("tasks/anything"), Json("""{"argz":[1]}"""), Ct))
        {
            await ReadProblemAsync(submit, HttpStatusCode.BadRequest, "'argz' is not a field of a submission", "args, taskId");
        }

        using (var submit = await S.Http.PostAsync(S.Api("tasks/anything"), Json("""{"taskId":" padded "}"""), Ct))
        {
            await ReadProblemAsync(submit, HttpStatusCode.BadRequest, "taskId", "white space");
        }
    }

    [Fact]
    public async Task Unknown_groups_are_404_problems()
    {
        var group = NewId("nogroup");
        using var get = await S.Http.GetAsync(S.Api($"groups/{group}"), Ct);
        await ReadProblemAsync(get, HttpStatusCode.NotFound, $"No group '{group}'", "PUT groups/");
        using var join = await S.Http.GetAsync(S.Api($"groups/{group}/join?timeout=0"), Ct);
        await ReadProblemAsync(join, HttpStatusCode.NotFound, $"No group '{group}'");
        using var events = await S.Http.GetAsync(S.Api($"groups/{group}/events"), Ct);
        await ReadProblemAsync(events, HttpStatusCode.NotFound, $"No group '{group}'");
    }

    /// <summary>A stream whose length is not known, so HttpClient sends the body chunked.</summary>
    private sealed class UnknownLengthStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 8192));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
