using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// Who may call: anonymous loopback (all roles by default), anonymous from a network that is not
/// trusted (directly, and through X-Forwarded-For), API keys with each role (by secret and by
/// SHA-256, as Bearer and as X-Api-Key), a wrong key, and keys refused from a settings file.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HttpAccessTests(HttpAccessTests.Silos fixture) : IClassFixture<HttpAccessTests.Silos>
{
    public const string ReaderKey = "reader-key-0123456789abcdef";
    public const string WriterKey = "writer-key-0123456789abcdef";
    public const string OperatorKey = "operator-key-0123456789abcd";
    public const string HashedKey = "hashed-key-0123456789abcdef";

    public sealed class Silos : IAsyncLifetime
    {
        /// <summary>Default settings: loopback is trusted with every role.</summary>
        public HttpSilo Open { get; private set; } = null!;

        /// <summary>Keys, and anonymous requests only from 10.0.0.0/8, so loopback is not trusted.</summary>
        public HttpSilo Keyed { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            var open = HttpSilo.StartAsync("memory://", configure: Tasks, cancellationToken: ct);
            var keyed = HttpSilo.StartAsync(
                "memory://",
                new Dictionary<string, string?>
                {
                    ["ResultGrid:Http:AnonymousNetworks:0"] = "10.0.0.0/8",
                    ["ResultGrid:Http:Keys:0:Name"] = "reader",
                    ["ResultGrid:Http:Keys:0:Secret"] = ReaderKey,
                    ["ResultGrid:Http:Keys:0:Roles"] = "read",
                    ["ResultGrid:Http:Keys:1:Name"] = "writer",
                    ["ResultGrid:Http:Keys:1:Secret"] = WriterKey,
                    ["ResultGrid:Http:Keys:1:Roles"] = "write",
                    ["ResultGrid:Http:Keys:2:Name"] = "operator",
                    ["ResultGrid:Http:Keys:2:Secret"] = OperatorKey,
                    ["ResultGrid:Http:Keys:2:Roles"] = "operate",
                    ["ResultGrid:Http:Keys:3:Name"] = "hashed",
                    ["ResultGrid:Http:Keys:3:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(HashedKey))),
                    ["ResultGrid:Http:Keys:3:Roles"] = "read, write",
                },
                Tasks,
                cancellationToken: ct);
            Open = await open;
            Keyed = await keyed;
        }

        private static void Tasks(Orleans.Hosting.ISiloBuilder silo) => silo.AddResultGridTask<int, int>("double", (x, ctx) => Task.FromResult(x * 2));

        public async ValueTask DisposeAsync()
        {
            await Open.DisposeAsync();
            await Keyed.DisposeAsync();
        }
    }

    private static (string Name, string Value)[] Bearer(string key) => [("Authorization", $"Bearer {key}")];

    /// <summary>One request of each endpoint class, the role it needs, and the statuses that say it was served.</summary>
    private static async Task<(string Role, HttpStatusCode Status, string Body)[]> EveryClassAsync(HttpSilo silo, params (string Name, string Value)[] headers)
    {
        var id = NewId("access");
        await silo.Client.UpdateStateAsync(id, "PROGRESS", new { n = 1 }, cancellationToken: Ct);
        var requests = new (string Role, HttpMethod Method, string Route, string? Body)[]
        {
            ("read", HttpMethod.Get, $"results/{id}", null),
            ("read", HttpMethod.Get, $"results/{id}/wait?timeout=0", null),
            ("read", HttpMethod.Get, "stats", null),
            ("write", HttpMethod.Put, $"results/{NewId("put")}", """{"state":"SUCCESS","result":1}"""),
            ("write", HttpMethod.Put, $"groups/{NewId("grp")}", """{"taskIds":["a","b"]}"""),
            ("write", HttpMethod.Post, "tasks/double", """{"args":2}"""),
            ("operate", HttpMethod.Delete, $"results/{NewId("del")}", null),
            ("operate", HttpMethod.Post, $"results/{id}/revoke", """{"reason":"r"}"""),
        };
        var answers = new List<(string, HttpStatusCode, string)>();
        foreach (var (role, method, route, body) in requests)
        {
            using var response = await SendAsync(silo.Http, method, silo.Api(route), body is null ? null : Json(body), headers);
            answers.Add((role, response.StatusCode, $"{method} {route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}"));
        }

        using (var ready = await SendAsync(silo.Http, HttpMethod.Get, "readyz", null, headers))
        {
            answers.Add(("read", ready.StatusCode, $"readyz: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync(Ct)}"));
        }

        using (var metrics = await SendAsync(silo.Http, HttpMethod.Get, "metrics", null, headers))
        {
            answers.Add(("read", metrics.StatusCode, $"metrics: {(int)metrics.StatusCode} {(metrics.IsSuccessStatusCode ? string.Empty : await metrics.Content.ReadAsStringAsync(Ct))}"));
        }

        return [.. answers];
    }

    private static bool Served(HttpStatusCode status) => status is HttpStatusCode.OK or HttpStatusCode.Accepted;

    [Fact]
    public async Task Anonymous_loopback_is_served_with_every_role_by_default()
    {
        foreach (var (role, status, body) in await EveryClassAsync(fixture.Open))
        {
            Assert.True(Served(status), $"anonymous loopback refused ({role}): {body}");
        }
    }

    [Fact]
    public async Task Anonymous_from_a_network_that_is_not_trusted_is_401_with_WWW_Authenticate_naming_the_address()
    {
        var silo = fixture.Keyed;
        foreach (var (_, status, body) in await EveryClassAsync(silo))
        {
            Assert.True(status == HttpStatusCode.Unauthorized, body);
        }

        var anonymous = NewId("anon");
        using var response = await silo.Http.GetAsync(silo.Api($"results/{anonymous}"), Ct);
        var problem = await ReadProblemAsync(response, HttpStatusCode.Unauthorized, "127.0.0.1", "ResultGrid:Http:AnonymousNetworks (10.0.0.0/8)", "Authorization: Bearer <key>", "X-Api-Key");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal($"/{silo.Api($"results/{anonymous}")}", Text(problem, "instance"));

        // Nothing was written by the refused writes.
        var id = NewId("anon-put");
        using var put = await silo.Http.PutAsync(silo.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":1}"""), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        Assert.Equal("PENDING", (await silo.Client.GetAsync(id, Ct)).State);
    }

    [Fact]
    public async Task Anonymous_through_X_Forwarded_For_from_an_address_that_is_not_trusted_is_401()
    {
        // Loopback is a known proxy by default, so its X-Forwarded-For is believed.
        var silo = fixture.Open;
        var id = NewId("xff");
        using var get = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{id}"), null, ("X-Forwarded-For", "203.0.113.7"));
        await ReadProblemAsync(get, HttpStatusCode.Unauthorized, "203.0.113.7", "is not in ResultGrid:Http:AnonymousNetworks");
        Assert.NotEmpty(get.Headers.WwwAuthenticate);

        using var put = await SendAsync(silo.Http, HttpMethod.Put, silo.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":1}"""), ("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        Assert.Equal("PENDING", (await silo.Client.GetAsync(id, Ct)).State);

        // A forwarded loopback address is still trusted.
        using var local = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{id}"), null, ("X-Forwarded-For", "127.0.0.5"));
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
    }

    public static TheoryData<string, string, string[]> KeyRoles => new()
    {
        { "reader", ReaderKey, ["read"] },
        { "writer", WriterKey, ["write"] },
        { "operator", OperatorKey, ["operate"] },
        { "hashed", HashedKey, ["read", "write"] },
    };

    [Theory]
    [MemberData(nameof(KeyRoles))]
    public async Task A_key_is_served_for_its_roles_and_refused_403_naming_the_missing_role_for_the_others(string name, string key, string[] roles)
    {
        var silo = fixture.Keyed;
        foreach (var (role, status, body) in await EveryClassAsync(silo, Bearer(key)))
        {
            if (roles.Contains(role))
            {
                Assert.True(Served(status), $"{name} refused for its role {role}: {body}");
            }
            else
            {
                Assert.True(status == HttpStatusCode.Forbidden, $"{name} without {role}: {body}");
                Assert.Contains($"needs the role '{role}'", body, StringComparison.Ordinal);
                Assert.Contains($"the credential '{name}'", body, StringComparison.Ordinal);
                Assert.DoesNotContain(key, body, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task A_403_is_problem_json_and_the_refused_write_stored_nothing()
    {
        var silo = fixture.Keyed;
        var id = NewId("forbidden");
        using var response = await SendAsync(silo.Http, HttpMethod.Put, silo.Api($"results/{id}"), Json("""{"state":"SUCCESS","result":1}"""), Bearer(ReaderKey));

        await ReadProblemAsync(response, HttpStatusCode.Forbidden, "needs the role 'write'", "the credential 'reader' has the roles read");
        Assert.Equal("PENDING", (await silo.Client.GetAsync(id, Ct)).State);

        using var revoke = await SendAsync(silo.Http, HttpMethod.Post, silo.Api($"results/{id}/revoke"), null, Bearer(WriterKey));
        await ReadProblemAsync(revoke, HttpStatusCode.Forbidden, "needs the role 'operate'");
        Assert.Equal("PENDING", (await silo.Client.GetAsync(id, Ct)).State);
    }

    [Fact]
    public async Task A_key_is_taken_as_Bearer_and_as_X_Api_Key()
    {
        var silo = fixture.Keyed;
        var id = NewId("both");
        await silo.Client.MarkSucceededAsync(id, 5, cancellationToken: Ct);

        using var bearer = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{id}"), null, ("Authorization", $"Bearer {ReaderKey}"));
        Assert.Equal(5, (await ReadJsonAsync(bearer)).GetProperty("value").GetInt32());

        using var header = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{id}"), null, ("X-Api-Key", ReaderKey));
        Assert.Equal(5, (await ReadJsonAsync(header)).GetProperty("value").GetInt32());

        using var hashed = await SendAsync(silo.Http, HttpMethod.Put, silo.Api($"results/{NewId("h")}"), Json("""{"state":"SUCCESS","result":1}"""), ("X-Api-Key", HashedKey));
        Assert.Equal("stored", Text(await ReadJsonAsync(hashed), "outcome"));
    }

    [Fact]
    public async Task A_wrong_key_is_401_without_echoing_it_even_from_a_trusted_network()
    {
        const string wrong = "not-a-configured-key-000000";
        foreach (var silo in new[] { fixture.Keyed, fixture.Open })
        {
            foreach (var headers in new[] { Bearer(wrong), [("X-Api-Key", wrong)] })
            {
                using var response = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{NewId("wrong")}"), null, headers);
                var problem = await ReadProblemAsync(response, HttpStatusCode.Unauthorized, "not one of the keys configured in ResultGrid:Http:Keys");
                Assert.DoesNotContain(wrong, problem.GetRawText(), StringComparison.Ordinal);
                Assert.NotEmpty(response.Headers.WwwAuthenticate);
            }
        }

        // A key's hash is not the key.
        using var hash = await SendAsync(fixture.Keyed.Http, HttpMethod.Get, fixture.Keyed.Api("stats"), null, Bearer(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(HashedKey)))));
        Assert.Equal(HttpStatusCode.Unauthorized, hash.StatusCode);
    }

    [Fact]
    public async Task Healthz_is_anonymous_everywhere_and_readyz_needs_read()
    {
        var silo = fixture.Keyed;
        using var health = await silo.Http.GetAsync("healthz", Ct);
        Assert.Equal("up", Text(await ReadJsonAsync(health), "status"));
        using var health2 = await SendAsync(silo.Http, HttpMethod.Get, "healthz", null, ("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal(HttpStatusCode.OK, health2.StatusCode);

        using var anonymous = await silo.Http.GetAsync("readyz", Ct);
        await ReadProblemAsync(anonymous, HttpStatusCode.Unauthorized);
        using var writer = await SendAsync(silo.Http, HttpMethod.Get, "readyz", null, Bearer(WriterKey));
        await ReadProblemAsync(writer, HttpStatusCode.Forbidden, "needs the role 'read'");
        using var reader = await SendAsync(silo.Http, HttpMethod.Get, "readyz", null, Bearer(ReaderKey));
        Assert.Equal("ready", Text(await ReadJsonAsync(reader), "status"));
    }

    [Fact]
    public void A_key_in_a_JSON_settings_file_is_refused_by_the_validator_naming_it_and_the_environment_variable()
    {
        var file = Path.Combine(Path.GetTempPath(), $"rg-http-keys-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"ResultGrid":{"Backend":"memory://","Http":{"Keys":[{"Name":"ci","Secret":"file-secret-0123456789abcdef","Roles":"read"}]}}}""");
        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(file).Build();

            var failures = SiloConfiguration.Validate(configuration);

            var failure = Assert.Single(failures, f => f.Contains("Keys", StringComparison.Ordinal));
            Assert.Contains("ResultGrid:Http:Keys:0:Secret is set in", failure, StringComparison.Ordinal);
            Assert.Contains(Path.GetFileName(file), failure, StringComparison.Ordinal);
            Assert.Contains("RESULTGRID__HTTP__KEYS__0__SECRET", failure, StringComparison.Ordinal);
            Assert.DoesNotContain("file-secret-0123456789abcdef", string.Join('\n', failures), StringComparison.Ordinal);

            // The same key from in-memory configuration (a host's secret store, or the
            // environment) is accepted.
            var inMemory = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ResultGrid:Backend"] = "memory://",
                ["ResultGrid:Http:Keys:0:Name"] = "ci",
                ["ResultGrid:Http:Keys:0:Secret"] = "file-secret-0123456789abcdef",
                ["ResultGrid:Http:Keys:0:Roles"] = "read",
            }).Build();
            Assert.Empty(SiloConfiguration.Validate(inMemory));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_web_application_with_a_key_hash_in_a_JSON_settings_file_does_not_start()
    {
        var file = Path.Combine(Path.GetTempPath(), $"rg-http-keys-{Guid.NewGuid():N}.json");
        var hash = Convert.ToHexStringLower(SHA256.HashData("anything-at-all-0123456789"u8));
        File.WriteAllText(file, """{"ResultGrid":{"Http":{"Keys":{"0":{"Name":"ci","Sha256":"HASH","Roles":"read"}}}}}""".Replace("HASH", hash, StringComparison.Ordinal));
        try
        {
            var refused = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
            {
                var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
                builder.Configuration.AddJsonFile(file);
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.AddResultGridHttp();
                await using var app = builder.Build();
                app.UseResultGridHttp();
                app.MapResultGridProbes();
                await app.StartAsync(Ct);
                await app.StopAsync(Ct);
            });

            Assert.Contains(refused.Failures, f => f.Contains("ResultGrid:Http:Keys:0:Sha256 is set in", StringComparison.Ordinal) && f.Contains(Path.GetFileName(file), StringComparison.Ordinal) && f.Contains("RESULTGRID__HTTP__KEYS__0__SHA256", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Anonymous_networks_given_as_one_value_are_that_list_so_none_trusts_nobody()
    {
        // RESULTGRID__HTTP__ANONYMOUSNETWORKS=none arrives as one value, not as items (…__0): the
        // binder alone left it unread, and loopback stayed anonymous with every role.
        await using var silo = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?>
            {
                ["ResultGrid:Http:AnonymousNetworks"] = "none",
                ["ResultGrid:Http:Keys:0:Name"] = "reader",
                ["ResultGrid:Http:Keys:0:Secret"] = ReaderKey,
                ["ResultGrid:Http:Keys:0:Roles"] = "read",
            },
            cancellationToken: Ct);

        using var anonymous = await silo.Http.GetAsync(silo.Api($"results/{NewId("scalar-none")}"), Ct);
        await ReadProblemAsync(anonymous, HttpStatusCode.Unauthorized, "127.0.0.1", "ResultGrid:Http:AnonymousNetworks (none)");

        using var keyed = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{NewId("scalar-none")}"), null, Bearer(ReaderKey));
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
    }

    [Fact]
    public async Task Anonymous_networks_given_as_one_value_with_commas_are_each_network()
    {
        await using var silo = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?> { ["ResultGrid:Http:AnonymousNetworks"] = "10.0.0.0/8, 192.0.2.0/24" },
            cancellationToken: Ct);

        using var anonymous = await silo.Http.GetAsync(silo.Api($"results/{NewId("scalar-list")}"), Ct);
        await ReadProblemAsync(anonymous, HttpStatusCode.Unauthorized, "127.0.0.1", "ResultGrid:Http:AnonymousNetworks (10.0.0.0/8, 192.0.2.0/24)");
    }

    [Fact]
    public async Task Keys_and_tokens_never_appear_in_the_logs_even_at_trace_level()
    {
        const string secret = "log-probe-secret-0123456789";
        const string wrong = "log-probe-wrong-0123456789";
        const string token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJsb2ctcHJvYmUifQ.c2lnbmF0dXJlLXByb2Jl";
        var capture = new LogCapture();
        await using (var silo = await HttpSilo.StartAsync(
            "memory://",
            new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["ResultGrid:Http:AnonymousNetworks:0"] = "none",
                ["ResultGrid:Http:Keys:0:Name"] = "probe",
                ["ResultGrid:Http:Keys:0:Secret"] = secret,
                ["ResultGrid:Http:Keys:0:Roles"] = "read,write",
            },
            s => s.Services.AddSingleton<ILoggerProvider>(capture),
            cancellationToken: Ct))
        {
            var id = NewId("logged");
            foreach (var headers in new (string, string)[][]
            {
                Bearer(secret), [("X-Api-Key", secret)], Bearer(wrong), [("X-Api-Key", wrong)], Bearer(token), [("Authorization", $"Basic {secret}")],
            })
            {
                using var get = await SendAsync(silo.Http, HttpMethod.Get, silo.Api($"results/{id}"), null, headers);
                using var put = await SendAsync(silo.Http, HttpMethod.Put, silo.Api($"results/{id}"), Json("""{"state":"PROGRESS","meta":{}}"""), headers);
            }
        }

        var lines = capture.Lines.ToArray();
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ResultGridKey", StringComparison.Ordinal) || l.Contains("not authenticated", StringComparison.OrdinalIgnoreCase) || l.Contains("Authorization failed", StringComparison.Ordinal));
        foreach (var hidden in new[] { secret, wrong, token })
        {
            Assert.DoesNotContain(lines, l => l.Contains(hidden, StringComparison.Ordinal));
        }
    }

    /// <summary>Every log line of every category, with its exception.</summary>
    private sealed class LogCapture : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            Lines.Enqueue($"scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue($"{logLevel} {eventId}: {formatter(state, exception)} {exception}");

        public void Dispose()
        {
        }
    }
}
