using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// JWT bearer: a tiny OpenID authority of the test's own (a second Kestrel serving
/// /.well-known/openid-configuration and a JWKS with an RSA key), a silo that trusts it and no
/// anonymous network; roles come from the "roles" claim.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HttpJwtTests(HttpJwtTests.Fixture fixture) : IClassFixture<HttpJwtTests.Fixture>
{
    public const string Audience = "resultgrid-api";

    private static readonly string[] SigningAlgorithms = ["RS256"];

    public sealed class Fixture : IAsyncLifetime
    {
        public RSA Key { get; } = RSA.Create(2048);

        public string KeyId { get; } = "test-key-1";

        public string Issuer { get; private set; } = null!;

        public WebApplication Authority { get; private set; } = null!;

        public HttpSilo Silo { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            Authority = builder.Build();
            var parameters = Key.ExportParameters(includePrivateParameters: false);
            Authority.MapGet("/.well-known/openid-configuration", (HttpContext context) => Results.Json(new Dictionary<string, object>
            {
                ["issuer"] = Issuer,
                ["jwks_uri"] = $"{Issuer}/jwks",
                ["id_token_signing_alg_values_supported"] = SigningAlgorithms,
            }));
            Authority.MapGet("/jwks", () => Results.Json(new
            {
                keys = new[]
                {
                    new Dictionary<string, string>
                    {
                        ["kty"] = "RSA",
                        ["use"] = "sig",
                        ["alg"] = "RS256",
                        ["kid"] = KeyId,
                        ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                        ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                    },
                },
            }));
            await Authority.StartAsync(ct);
            Issuer = Authority.Urls.First().TrimEnd('/');

            Silo = await HttpSilo.StartAsync(
                "memory://",
                new Dictionary<string, string?>
                {
                    ["ResultGrid:Http:AnonymousNetworks:0"] = "none",
                    ["ResultGrid:Http:Jwt:Authority"] = Issuer,
                    ["ResultGrid:Http:Jwt:Audience"] = Audience,
                    ["ResultGrid:Http:Jwt:RequireHttpsMetadata"] = "false",
                },
                cancellationToken: ct);
        }

        public string Token(string[] roles, RSA? signer = null, string audience = Audience, string? issuer = null, DateTime? expires = null) =>
            new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer ?? Issuer,
                Audience = audience,
                IssuedAt = DateTime.UtcNow.AddMinutes(-1),
                NotBefore = DateTime.UtcNow.AddMinutes(-1),
                Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
                Claims = new Dictionary<string, object> { ["sub"] = "service-a", ["roles"] = roles },
                SigningCredentials = new SigningCredentials(new RsaSecurityKey(signer ?? Key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
            });

        public async ValueTask DisposeAsync()
        {
            await Silo.DisposeAsync();
            await Authority.StopAsync();
            await Authority.DisposeAsync();
            Key.Dispose();
        }
    }

    private HttpSilo S => fixture.Silo;

    private Task<HttpResponseMessage> AsAsync(string token, HttpMethod method, string route, string? body = null) =>
        SendAsync(S.Http, method, S.Api(route), body is null ? null : Json(body), ("Authorization", $"Bearer {token}"));

    [Fact]
    public async Task A_token_with_the_read_role_reads_and_is_403_for_a_write()
    {
        var id = NewId("jwt");
        await S.Client.MarkSucceededAsync(id, "signed", cancellationToken: Ct);
        var token = fixture.Token(["read"]);

        using var get = await AsAsync(token, HttpMethod.Get, $"results/{id}");
        Assert.Equal("signed", (await ReadJsonAsync(get)).GetProperty("value").GetString());

        var other = NewId("jwt-put");
        using var put = await AsAsync(token, HttpMethod.Put, $"results/{other}", """{"state":"SUCCESS","result":1}""");
        await ReadProblemAsync(put, HttpStatusCode.Forbidden, "needs the role 'write'", "'service-a'", "read");
        Assert.Equal("PENDING", (await S.Client.GetAsync(other, Ct)).State);
    }

    [Fact]
    public async Task A_token_with_read_and_write_roles_writes()
    {
        var id = NewId("jwt-write");
        using var put = await AsAsync(fixture.Token(["read", "write"]), HttpMethod.Put, $"results/{id}", """{"state":"SUCCESS","result":2}""");
        Assert.Equal("stored", Text(await ReadJsonAsync(put), "outcome"));
        using var delete = await AsAsync(fixture.Token(["read", "write"]), HttpMethod.Delete, $"results/{id}");
        await ReadProblemAsync(delete, HttpStatusCode.Forbidden, "needs the role 'operate'");
    }

    [Fact]
    public async Task A_token_with_a_bad_signature_a_wrong_audience_a_wrong_issuer_or_past_its_expiry_is_401()
    {
        using var stranger = RSA.Create(2048);
        var id = NewId("jwt-bad");
        foreach (var (what, token) in new[]
        {
            ("bad signature", fixture.Token(["read"], signer: stranger)),
            ("wrong audience", fixture.Token(["read"], audience: "someone-else")),
            ("wrong issuer", fixture.Token(["read"], issuer: "http://127.0.0.1:1/other")),
            ("expired", fixture.Token(["read"], expires: DateTime.UtcNow.AddMinutes(-30))),
            ("tampered", fixture.Token(["read"])[..^4] + "AAAA"),
        })
        {
            using var response = await AsAsync(token, HttpMethod.Get, $"results/{id}");
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_a_token_and_no_anonymous_network_even_loopback_is_401_and_the_detail_offers_a_JWT()
    {
        using var response = await S.Http.GetAsync(S.Api($"results/{NewId("jwt-none")}"), Ct);
        await ReadProblemAsync(response, HttpStatusCode.Unauthorized, "127.0.0.1", "(none)", "JWT");
    }
}
