using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>The OpenAPI document lists every route with its methods; the reference page loads nothing from another host.</summary>
[Trait("Backend", "memory")]
public sealed partial class HttpOpenApiTests(HttpOpenApiTests.Silo fixture) : IClassFixture<HttpOpenApiTests.Silo>
{
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync("memory://", cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    [GeneratedRegex("""(?:src|href)\s*=\s*["']([^"']+)["']""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Reference();

    [GeneratedRegex("""https?://[^\s"'<>)]+""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AbsoluteUrl();

    public static TheoryData<string, string[]> Routes => new()
    {
        { "/api/v1/results/{id}", ["get", "put", "delete"] },
        { "/api/v1/results/{id}/wait", ["get"] },
        { "/api/v1/results/{id}/events", ["get"] },
        { "/api/v1/results/{id}/revoke", ["post"] },
        { "/api/v1/results", ["get"] },
        { "/api/v1/groups/{id}", ["get", "put"] },
        { "/api/v1/groups/{id}/join", ["get"] },
        { "/api/v1/groups/{id}/events", ["get"] },
        { "/api/v1/tasks/{name}", ["post"] },
        { "/api/v1/stats", ["get"] },
        { "/healthz", ["get"] },
        { "/readyz", ["get"] },
    };

    private async Task<JsonElement> DocumentAsync()
    {
        using var response = await S.Http.GetAsync("api/openapi/v1.json", Ct);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await ReadJsonAsync(response);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task The_OpenAPI_document_lists_the_route_with_its_methods(string route, string[] methods)
    {
        var document = await DocumentAsync();
        Assert.StartsWith("3.", Text(document, "openapi"), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");
        var names = paths.EnumerateObject().Select(p => p.Name).ToArray();

        // The search is mapped at "results/" in its group; either spelling is the same route.
        var found = names.FirstOrDefault(n => n == route || n == route + "/");
        Assert.True(found is not null, $"{route} is not in the OpenAPI paths: {string.Join(", ", names)}");
        var operations = paths.GetProperty(found);
        foreach (var method in methods)
        {
            Assert.True(operations.TryGetProperty(method, out var operation), $"{route} has no {method}");
            Assert.True(operation.TryGetProperty("responses", out _), $"{method} {route} has no responses");
        }
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_write_body_and_the_result_view()
    {
        var document = await DocumentAsync();
        var put = document.GetProperty("paths").GetProperty("/api/v1/results/{id}").GetProperty("put");
        Assert.True(put.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        foreach (var schema in new[] { "WriteRequest", "ResultView", "GroupView", "SearchPage", "StatsView" })
        {
            Assert.True(schemas.TryGetProperty(schema, out _), $"no schema {schema}");
        }
    }

    [Fact]
    public async Task The_reference_page_is_HTML_whose_assets_are_all_served_from_this_origin()
    {
        using var response = await S.Http.GetAsync("api/docs", Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);

        var origin = S.BaseAddress.GetLeftPart(UriPartial.Authority);
        var references = Reference().Matches(html).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            var absolute = new Uri(new Uri(S.BaseAddress, "api/docs/"), reference);
            Assert.True(absolute.GetLeftPart(UriPartial.Authority) == origin, $"the page loads {reference} from another host");
            if (absolute.Scheme.StartsWith("http", StringComparison.Ordinal))
            {
                using var asset = await S.Http.GetAsync(absolute, Ct);
                Assert.True(asset.IsSuccessStatusCode, $"{reference} ({absolute}) is {(int)asset.StatusCode}");
            }
        }

        // No absolute URL in the page points anywhere but here (CDNs, font hosts).
        foreach (Match url in AbsoluteUrl().Matches(html))
        {
            Assert.True(url.Value.StartsWith(origin, StringComparison.OrdinalIgnoreCase), $"the page references {url.Value}");
        }
    }

    [Fact]
    public async Task The_reference_page_points_at_this_servers_OpenAPI_document()
    {
        using var response = await S.Http.GetAsync("api/docs", Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
    }
}
