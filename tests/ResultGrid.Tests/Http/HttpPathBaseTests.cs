using System.Net;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// Behind a reverse proxy: ResultGrid:Http:PathBase=/rg puts every route under /rg (and the
/// Location of a submission with it), and X-Forwarded-Prefix from a trusted proxy is honoured.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HttpPathBaseTests(HttpPathBaseTests.Silo fixture) : IClassFixture<HttpPathBaseTests.Silo>
{
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?> { ["ResultGrid:Http:PathBase"] = "/rg" },
            s => s.AddResultGridTask<int, int>("double", (x, ctx) => Task.FromResult(x * 2)),
            cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    [Fact]
    public async Task Routes_are_served_under_the_path_base_and_not_beside_it()
    {
        var id = NewId("based");
        await S.Client.MarkSucceededAsync(id, "under /rg", cancellationToken: Ct);

        using var under = await S.Http.GetAsync(S.Api($"results/{id}", pathBase: "/rg"), Ct);
        Assert.Equal("rg/api/v1/results/" + id, S.Api($"results/{id}", pathBase: "/rg"));
        Assert.Equal("under /rg", (await ReadJsonAsync(under)).GetProperty("value").GetString());

        using var beside = await S.Http.GetAsync(S.Api($"results/{id}"), Ct);
        Assert.Equal(HttpStatusCode.NotFound, beside.StatusCode);
    }

    [Fact]
    public async Task The_probes_are_under_the_path_base_too()
    {
        using var health = await S.Http.GetAsync("rg/healthz", Ct);
        Assert.Equal("up", Text(await ReadJsonAsync(health), "status"));
        using var ready = await S.Http.GetAsync("rg/readyz", Ct);
        Assert.Equal("ready", Text(await ReadJsonAsync(ready), "status"));
    }

    [Fact]
    public async Task A_submission_Location_includes_the_path_base_and_leads_to_the_value()
    {
        using var response = await S.Http.PostAsync(S.Api("tasks/double", pathBase: "/rg"), Json("""{"args":4}"""), Ct);

        var answer = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        var id = Text(answer, "taskId");
        Assert.Equal($"/rg/api/v1/results/{id}/wait", response.Headers.Location?.OriginalString);
        Assert.Equal(response.Headers.Location?.OriginalString, Text(answer, "location"));

        using var wait = await S.Http.GetAsync(new Uri(S.BaseAddress, response.Headers.Location!), Ct);
        Assert.Equal(8, (await ReadJsonAsync(wait)).GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task X_Forwarded_Prefix_from_a_trusted_proxy_goes_before_the_path_base_in_the_Location()
    {
        using var response = await SendAsync(S.Http, HttpMethod.Post, S.Api("tasks/double", pathBase: "/rg"), Json("""{"args":1}"""), ("X-Forwarded-Prefix", "/outer"));

        var answer = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        Assert.Equal($"/outer/rg/api/v1/results/{Text(answer, "taskId")}/wait", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task X_Forwarded_Prefix_is_honoured_without_a_configured_path_base()
    {
        await using var plain = await HttpSilo.StartAsync(
            "memory://",
            configure: s => s.AddResultGridTask<int, int>("double", (x, ctx) => Task.FromResult(x * 2)),
            cancellationToken: Ct);

        using var response = await SendAsync(plain.Http, HttpMethod.Post, plain.Api("tasks/double"), Json("""{"args":1}"""), ("X-Forwarded-Prefix", "/proxy"));

        var answer = await ReadJsonAsync(response, HttpStatusCode.Accepted);
        Assert.Equal($"/proxy/api/v1/results/{Text(answer, "taskId")}/wait", response.Headers.Location?.OriginalString);

        // Without the header, no prefix.
        using var direct = await plain.Http.PostAsync(plain.Api("tasks/double"), Json("""{"args":1}"""), Ct);
        Assert.StartsWith("/api/v1/results/", direct.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }
}
