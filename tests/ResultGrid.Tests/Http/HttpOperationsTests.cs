using System.Net;
using System.Text.Json;
using ResultGrid.Client;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// POST tasks/{name}, GET stats (meters on memory, indexes on SQLite), /healthz, /readyz (ready,
/// and 503 naming the store while a Redis server of the test's own is down) and /metrics.
/// </summary>
public sealed class HttpOperationsTests(HttpOperationsTests.Silo fixture) : IClassFixture<HttpOperationsTests.Silo>
{
    /// <summary>A memory:// silo with extended results off and the task "double".</summary>
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync(
            "memory://",
            configure: s => s.AddResultGridTask<int, int>("double", (x, ctx) => Task.FromResult(x * 2)),
            cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Post_task_answers_202_with_a_Location_whose_GET_gives_the_value()
    {
        using var response = await S.Http.PostAsync(S.Api("tasks/double"), Json("""{"args":21}"""), Ct);

        var answer = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        var id = Text(answer, "taskId");
        Assert.False(string.IsNullOrEmpty(id));
        var location = response.Headers.Location;
        Assert.NotNull(location);
        Assert.Equal($"/api/v1/results/{id}/wait", location.OriginalString);
        Assert.Equal(location.OriginalString, Text(answer, "location"));

        var view = await ReadJsonAsync(await S.Http.GetAsync(new Uri(S.BaseAddress, location), Ct));
        Assert.Equal(id, Text(view, "taskId"));
        Assert.Equal("SUCCESS", Text(view, "state"));
        Assert.Equal(42, view.GetProperty("value").GetInt32());
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Post_task_with_its_own_task_id_runs_under_it()
    {
        var id = NewId("mine");
        using var response = await S.Http.PostAsync(S.Api("tasks/double"), Json(new { args = 5, taskId = id, queue = "fast" }), Ct);
        var answer = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        Assert.Equal(id, Text(answer, "taskId"));

        var outcome = await S.Client.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        Assert.Equal(10, outcome.Value);
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Post_of_an_unknown_task_is_404_listing_the_registered_names()
    {
        using var response = await S.Http.PostAsync(S.Api("tasks/triple"), Json("""{"args":1}"""), Ct);
        await ReadProblemAsync(response, HttpStatusCode.NotFound, "'triple'", "Registered tasks:", "double");
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Stats_on_memory_count_states_from_the_meters_and_list_the_silo()
    {
        for (var i = 0; i < 2; i++)
        {
            await S.Client.MarkSucceededAsync(NewId("stat"), i, cancellationToken: Ct);
        }

        await S.Client.MarkFailedAsync(NewId("stat"), new InvalidOperationException("x"), cancellationToken: Ct);

        // Each silo reports every 2 s.
        JsonElement stats = default;
        Assert.True(await EventuallyAsync(async () =>
        {
            stats = await ReadJsonAsync(await S.Http.GetAsync(S.Api("stats"), Ct));
            return stats.GetProperty("silos").GetArrayLength() > 0
                && stats.GetProperty("states").TryGetProperty("SUCCESS", out var s) && s.GetInt64() >= 2
                && stats.GetProperty("states").TryGetProperty("FAILURE", out var f) && f.GetInt64() >= 1;
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500)), $"stats never counted the writes: {stats}");

        Assert.Equal("meters", Text(stats, "statesSource"));
        Assert.Equal("memory", Text(stats, "backend"));
        var silo = Assert.Single(stats.GetProperty("silos").EnumerateArray());
        Assert.False(string.IsNullOrEmpty(Text(silo, "address")));
        foreach (var rate in new[] { "writesPerSecond", "readsPerSecond", "waitsPerSecond", "activeWaiters" })
        {
            Assert.True(silo.GetProperty(rate).GetDouble() >= 0, rate);
            Assert.True(stats.GetProperty("totals").GetProperty(rate).GetDouble() >= 0, rate);
        }
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Stats_on_SQLite_count_states_from_the_index_with_the_time_taken()
    {
        var url = NewSqliteUrl(out var directory);
        try
        {
            await using (var silo = await HttpSilo.StartAsync(url, cancellationToken: Ct))
            {
                for (var i = 0; i < 3; i++)
                {
                    await silo.Client.MarkSucceededAsync(NewId("s"), i, cancellationToken: Ct);
                }

                await silo.Client.MarkFailedAsync(NewId("f"), new InvalidOperationException("x"), cancellationToken: Ct);
                await silo.Client.UpdateStateAsync(NewId("p"), "PROGRESS", new { a = 1 }, cancellationToken: Ct);

                var stats = await ReadJsonAsync(await silo.Http.GetAsync(silo.Api("stats"), Ct));
                Assert.Equal("index", Text(stats, "statesSource"));
                Assert.True(stats.GetProperty("countMilliseconds").GetDouble() >= 0);
                var states = stats.GetProperty("states");
                Assert.Equal(3, states.GetProperty("SUCCESS").GetInt64());
                Assert.Equal(1, states.GetProperty("FAILURE").GetInt64());
                Assert.Equal(1, states.GetProperty("PROGRESS").GetInt64());

                Assert.True(await EventuallyAsync(async () =>
                {
                    stats = await ReadJsonAsync(await silo.Http.GetAsync(silo.Api("stats"), Ct));
                    return stats.GetProperty("silos").GetArrayLength() == 1;
                }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500)), $"the silo never reported: {stats}");
                Assert.Equal("sqlite", Text(stats, "backend"));
                Assert.True(stats.GetProperty("silos")[0].GetProperty("writesPerSecond").GetDouble() >= 0);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Healthz_says_up()
    {
        var body = await ReadJsonAsync(await S.Http.GetAsync("healthz", Ct));
        Assert.Equal("up", Text(body, "status"));
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Readyz_is_200_with_the_cluster_and_store_checks()
    {
        var body = await ReadJsonAsync(await S.Http.GetAsync("readyz", Ct));

        Assert.Equal("ready", Text(body, "status"));
        var checks = body.GetProperty("checks");
        Assert.True(checks.GetProperty("cluster").GetProperty("healthy").GetBoolean());
        Assert.Contains("active", Text(checks.GetProperty("cluster"), "detail"), StringComparison.Ordinal);
        Assert.True(checks.GetProperty("store").GetProperty("healthy").GetBoolean());
        Assert.Contains("memory", Text(checks.GetProperty("store"), "detail"), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "redis")]
    public async Task Readyz_is_503_naming_the_store_while_its_Redis_is_down_and_200_again_after()
    {
        await using var redis = new RedisProcess("--appendonly", "no");
        await redis.StartAsync();
        await using var silo = await HttpSilo.StartAsync(
            $"redis://127.0.0.1:{redis.Port}/0",
            new Dictionary<string, string?> { ["ResultGrid:Redis:ConnectTimeout"] = "00:00:01" },
            cancellationToken: Ct);
        Assert.Equal("ready", Text(await ReadJsonAsync(await silo.Http.GetAsync("readyz", Ct)), "status"));

        await redis.KillAsync();

        HttpResponseMessage? down = null;
        Assert.True(await EventuallyAsync(async () =>
        {
            down?.Dispose();
            down = await silo.Http.GetAsync("readyz", Ct);
            return down.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250)), "readyz stayed ready with the store down");
        using (down)
        {
            var problem = await ReadProblemAsync(down!, HttpStatusCode.ServiceUnavailable, "store", $"127.0.0.1:{redis.Port}");
            var checks = problem.GetProperty("checks");
            Assert.False(checks.GetProperty("store").GetProperty("healthy").GetBoolean());
            Assert.True(checks.GetProperty("cluster").GetProperty("healthy").GetBoolean());
        }

        await redis.StartAsync();
        Assert.True(await EventuallyAsync(async () =>
        {
            using var again = await silo.Http.GetAsync("readyz", Ct);
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250)), "readyz never recovered with the store back");
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Metrics_are_Prometheus_text_with_the_ResultGrid_meter_after_a_write()
    {
        await S.Client.MarkSucceededAsync(NewId("metric"), 1, cancellationToken: Ct);

        string text = string.Empty;
        Assert.True(await EventuallyAsync(async () =>
        {
            using var response = await S.Http.GetAsync("metrics", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            text = await response.Content.ReadAsStringAsync(Ct);
            // ASP.NET Core records a request's duration when it ends, so on a silo whose first
            // request is this scrape, the next scrape is the first to show one.
            return text.Contains("resultgrid_results_stored", StringComparison.Ordinal) && text.Contains("http_server_request_duration", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500)), $"no resultgrid_results_stored and http_server_request_duration in /metrics: {text[..Math.Min(text.Length, 2000)]}");

        Assert.Contains("# TYPE resultgrid_results_stored", text, StringComparison.Ordinal);
        Assert.Contains("state=\"SUCCESS\"", text, StringComparison.Ordinal);
        // ASP.NET Core's own meter is there too.
        Assert.Contains("http_server_request_duration", text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "memory")]
    public async Task Extended_fields_are_left_out_where_ExtendedResults_is_off()
    {
        var id = NewId("not-extended");
        using (var put = await S.Http.PutAsync(S.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":1,"name":"tasks.x","args":[1],"worker":"w","queue":"q","group":"g","retries":3}"""), Ct))
        {
            Assert.Equal("stored", Text(await ReadJsonAsync(put), "outcome"));
        }

        var view = await ReadJsonAsync(await S.Http.GetAsync(S.Api($"results/{id}"), Ct));
        foreach (var field in new[] { "name", "args", "kwargs", "worker", "queue" })
        {
            Assert.False(view.TryGetProperty(field, out _), $"'{field}' shown with ExtendedResults off");
        }

        // Links and retries are not extended fields.
        Assert.Equal("g", Text(view, "groupId"));
        Assert.Equal(3, view.GetProperty("retries").GetInt32());
    }
}
