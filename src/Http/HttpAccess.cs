using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ResultGrid.Http;

/// <summary>The three roles of the API, and the authorization policy of each (same name).</summary>
public static class HttpRoles
{
    /// <summary>Every GET: results, waits, events, search, groups, stats, readiness, metrics.</summary>
    public const string Read = "read";

    /// <summary>PUT results and groups, submitting tasks.</summary>
    public const string Write = "write";

    /// <summary>Forget and revoke.</summary>
    public const string Operate = "operate";

    public static readonly IReadOnlyList<string> All = [Read, Write, Operate];

    internal static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    internal static IReadOnlyList<string> Parse(string? roles) =>
        (roles ?? string.Empty).Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static string Policy(string role) => "resultgrid:" + role;
}

/// <summary>CIDR networks and single addresses, with IPv4-mapped IPv6 addresses seen as IPv4.</summary>
internal static class HttpNetworks
{
    public static bool TryParse(string text, out IPNetwork network)
    {
        text = text.Trim();
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

/// <summary>Who a request is: the configured keys (hashed once), the anonymous networks and roles.</summary>
internal sealed class HttpAccessPolicy
{
    public const string KeyScheme = "ResultGridKey";
    public const string Scheme = "ResultGrid";
    public const string ApiKeyHeader = "X-Api-Key";

    private readonly (string Name, byte[] Hash, string[] Roles)[] _keys;
    private readonly IPNetwork[] _anonymous;

    public HttpAccessPolicy(IOptions<ResultGridHttpOptions> options)
    {
        var o = options.Value;
        _keys = o.Keys.Select(k => (
            k.Name ?? "key",
            k.Secret is { Length: > 0 } secret ? SHA256.HashData(Encoding.UTF8.GetBytes(secret)) : Convert.FromHexString(k.Sha256 ?? string.Empty),
            HttpRoles.Parse(k.Roles).ToArray())).ToArray();
        _anonymous = o.EffectiveAnonymousNetworks.Select(n => HttpNetworks.TryParse(n, out var network) ? network : default).Where(n => n.BaseAddress is not null).ToArray();
        AnonymousRoles = [.. o.EffectiveAnonymousRoles];
        AnonymousNetworksText = _anonymous.Length == 0 ? "none" : string.Join(", ", o.EffectiveAnonymousNetworks);
        JwtEnabled = o.Jwt.Enabled;
    }

    public string[] AnonymousRoles { get; }

    /// <summary>The principal of anonymous trusted requests, made once by the key handler.</summary>
    public ClaimsPrincipal? Anonymous { get; set; }

    public string AnonymousNetworksText { get; }

    public bool JwtEnabled { get; }

    public bool IsAnonymousAllowed(IPAddress? remote) =>
        remote is not null && _anonymous.Any(n => n.Contains(HttpNetworks.Normalize(remote)));

    /// <summary>The configured key <paramref name="presented"/> is, compared in constant time; null when none.</summary>
    public (string Name, string[] Roles)? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        (string, string[])? found = null;
        foreach (var key in _keys)
        {
            // Every key is compared, so the time taken does not tell which one matched.
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                found = (key.Name, key.Roles);
            }
        }

        return found;
    }

    /// <summary>The key sent as <c>X-Api-Key</c>, or as a bearer token that is not a JWT.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(ApiKeyHeader, out var header) && header.Count > 0 && !string.IsNullOrEmpty(header[0]))
        {
            return header[0];
        }

        return BearerToken(request) is { } token && !LooksLikeJwt(token) ? token : null;
    }

    public static string? BearerToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
    }

    // A JWT is three base64url parts; an API key has no dots.
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;
}

/// <summary>
/// API keys, and anonymous requests from the trusted networks. A request with no credential from
/// elsewhere is not authenticated (401); a key that matches none is a failure (401), named in
/// the answer without echoing it.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, HttpAccessPolicy access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string AnonymousName = "anonymous";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = HttpAccessPolicy.PresentedKey(Request);
        if (presented is null)
        {
            if (!access.IsAnonymousAllowed(Context.Connection.RemoteIpAddress))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            // One principal for every anonymous request (handlers live one request; the policy
            // lives as long as the app): a new identity and claims per request were 6.9 MB of
            // 10,000 open long-polls.
            var anonymous = access.Anonymous ??= Principal(AnonymousName, access.AnonymousRoles);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(anonymous, Scheme.Name)));
        }

        return Task.FromResult(access.Find(presented) is { } key
            ? Success(key.Name, key.Roles)
            : AuthenticateResult.Fail("The API key sent is not one of the keys configured in ResultGrid:Http:Keys."));
    }

    private AuthenticateResult Success(string name, IEnumerable<string> roles) =>
        AuthenticateResult.Success(new AuthenticationTicket(Principal(name, roles), Scheme.Name));

    private ClaimsPrincipal Principal(string name, IEnumerable<string> roles) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, name), .. roles.Select(r => new Claim(ClaimTypes.Role, r))],
            Scheme.Name,
            ClaimTypes.Name,
            ClaimTypes.Role));
}

/// <summary>
/// 401 and 403 as problem documents that say what was missing and what would be accepted,
/// instead of ASP.NET Core's empty answers. Neither ever repeats the credential sent.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler(HttpAccessPolicy access) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context);
            return;
        }

        var needed = policy.Requirements.OfType<Microsoft.AspNetCore.Authorization.Infrastructure.RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).FirstOrDefault() ?? HttpRoles.Read;
        if (context.GetEndpoint()?.Metadata.GetMetadata<Dashboard.DashboardEndpointMetadata>() is { } dashboard)
        {
            // A person in a browser: the sign-in form, or a page naming the missing role.
            await Dashboard.DashboardAuthentication.ChallengeAsync(context, dashboard.Routes, authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true, needed);
            return;
        }

        if (authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true)
        {
            var roles = context.User.FindAll(context.User.Identities.First().RoleClaimType).Select(c => c.Value).ToArray();
            await HttpProblems.Write(context, StatusCodes.Status403Forbidden, "Role missing",
                $"This request needs the role '{needed}'; the credential '{context.User.Identity.Name}' has {(roles.Length == 0 ? "no roles" : "the roles " + string.Join(", ", roles))}. Roles are read, write and operate.");
            return;
        }

        var authenticated = await context.AuthenticateAsync();
        var remote = context.Connection.RemoteIpAddress is { } ip ? HttpNetworks.Normalize(ip).ToString() : "an unknown address";
        var detail = authenticated.Failure is { } failure
            ? failure.Message
            : $"This request has no credential, and {remote} is not in ResultGrid:Http:AnonymousNetworks ({access.AnonymousNetworksText}). " +
              $"Send an API key as 'Authorization: Bearer <key>' or '{HttpAccessPolicy.ApiKeyHeader}: <key>'{(access.JwtEnabled ? ", or a JWT from the configured authority as 'Authorization: Bearer <token>'" : string.Empty)}.";
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"ResultGrid\"";
        await HttpProblems.Write(context, StatusCodes.Status401Unauthorized, "Not authenticated", detail);
    }
}
