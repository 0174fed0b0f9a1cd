using System.Net;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>CORS is off unless origins are listed; a listed origin's preflight is allowed and any other is not.</summary>
[Trait("Backend", "memory")]
public sealed class HttpCorsTests(HttpCorsTests.Silos fixture) : IClassFixture<HttpCorsTests.Silos>
{
    public const string App = "http://app.example";

    public sealed class Silos : IAsyncLifetime
    {
        public HttpSilo Default { get; private set; } = null!;

        public HttpSilo Listed { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            var plain = HttpSilo.StartAsync("memory://", cancellationToken: ct);
            var listed = HttpSilo.StartAsync("memory://", new Dictionary<string, string?> { ["ResultGrid:Http:CorsOrigins:0"] = App }, cancellationToken: ct);
            Default = await plain;
            Listed = await listed;
        }

        public async ValueTask DisposeAsync()
        {
            await Default.DisposeAsync();
            await Listed.DisposeAsync();
        }
    }

    private static Task<HttpResponseMessage> PreflightAsync(HttpSilo silo, string origin, string method, string route = "results/x") =>
        SendAsync(silo.Http, HttpMethod.Options, silo.Api(route), null,
            ("Origin", origin), ("Access-Control-Request-Method", method), ("Access-Control-Request-Headers", "content-type,authorization"));

    private static string? AllowOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? string.Join(",", values) : null;

    [Fact]
    public async Task Without_listed_origins_a_preflight_gets_no_CORS_headers()
    {
        foreach (var method in new[] { "GET", "PUT" })
        {
            using var preflight = await PreflightAsync(fixture.Default, App, method);
            Assert.Null(AllowOrigin(preflight));
            Assert.False(preflight.Headers.Contains("Access-Control-Allow-Methods"));
        }

        using var get = await SendAsync(fixture.Default.Http, HttpMethod.Get, fixture.Default.Api($"results/{NewId("cors")}"), null, ("Origin", App));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Null(AllowOrigin(get));
    }

    [Fact]
    public async Task A_listed_origin_preflight_is_allowed_and_its_requests_see_ETag_and_Location()
    {
        using var preflight = await PreflightAsync(fixture.Listed, App, "PUT");
        Assert.True(preflight.IsSuccessStatusCode, $"preflight {(int)preflight.StatusCode}");
        Assert.Equal(App, AllowOrigin(preflight));
        Assert.Contains("PUT", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-type", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);

        using var get = await SendAsync(fixture.Listed.Http, HttpMethod.Get, fixture.Listed.Api($"results/{NewId("cors")}"), null, ("Origin", App));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(App, AllowOrigin(get));
        var exposed = string.Join(",", get.Headers.GetValues("Access-Control-Expose-Headers"));
        Assert.Contains("ETag", exposed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Location", exposed, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Another_origin_is_not_allowed()
    {
        foreach (var origin in new[] { "http://evil.example", "https://app.example", "http://app.example:8080" })
        {
            using var preflight = await PreflightAsync(fixture.Listed, origin, "PUT");
            Assert.Null(AllowOrigin(preflight));

            using var get = await SendAsync(fixture.Listed.Http, HttpMethod.Get, fixture.Listed.Api($"results/{NewId("cors")}"), null, ("Origin", origin));
            Assert.Null(AllowOrigin(get));
        }
    }
}
