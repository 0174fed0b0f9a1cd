using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Options;

namespace ResultGrid.Http;

/// <summary>
/// The HTTP API (section <c>ResultGrid:Http</c>, environment <c>RESULTGRID__HTTP__…</c>): where
/// the silo host serves it, who may call it, and its limits. Deny by default: with no keys, only
/// anonymous requests from <see cref="AnonymousNetworks"/> (loopback) are served.
/// </summary>
public sealed class ResultGridHttpOptions
{
    public const string SectionName = "ResultGrid:Http";

    /// <summary>Loopback only: nothing is reachable from the network until an operator says so.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>The value of <see cref="Urls"/> that turns HTTP off, besides an empty one.</summary>
    public const string Off = "none";

    /// <summary>Where the silo host listens, <c>;</c>-separated (port 0 picks a free one); empty or <c>none</c>: no HTTP.</summary>
    public string? Urls { get; set; } = DefaultUrls;

    /// <summary>A path every route sits under, e.g. <c>/resultgrid</c> behind a reverse proxy; empty for none.</summary>
    public string? PathBase { get; set; }

    /// <summary>Where the silo host maps the API group; the API itself is under <c>{Prefix}/v1</c>.</summary>
    public string Prefix { get; set; } = "/api";

    /// <summary>Where the silo host serves the results dashboard, under the path base; <c>none</c> (or empty): no dashboard.</summary>
    public string? DashboardPath { get; set; } = "/";

    /// <summary>True when the silo host should serve the dashboard.</summary>
    public bool DashboardEnabled => !string.IsNullOrWhiteSpace(DashboardPath) && !string.Equals(DashboardPath.Trim(), Off, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Networks (CIDR, or single addresses) whose requests without a credential are served, with
    /// <see cref="AnonymousRoles"/>; null for loopback (127.0.0.0/8, ::1). <c>none</c>: nobody.
    /// </summary>
    public List<string>? AnonymousNetworks { get; set; }

    /// <summary>The roles of an anonymous request from a trusted network; null for all three.</summary>
    public List<string>? AnonymousRoles { get; set; }

    /// <summary>API keys, each with its roles. From the environment only (<c>RESULTGRID__HTTP__KEYS__0__SECRET</c>, …).</summary>
    public List<HttpApiKey> Keys { get; set; } = [];

    /// <summary>JWT bearer tokens from an identity provider; off while <see cref="HttpJwtOptions.Authority"/> is empty.</summary>
    public HttpJwtOptions Jwt { get; set; } = new();

    /// <summary>Origins allowed to call from a browser (CORS); none, so CORS is off, unless listed.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Proxies whose X-Forwarded-For/-Proto/-Host/-Prefix are believed, besides loopback.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks (CIDR) of proxies whose forwarded headers are believed.</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>The longest <c>timeout</c> a wait or join accepts, in seconds.</summary>
    public double MaxWaitSeconds { get; set; } = 300;

    /// <summary>How often an event stream with nothing to say sends a keep-alive comment, in seconds (proxies close idle streams).</summary>
    public double KeepAliveSeconds { get; set; } = 15;

    /// <summary>The largest request body, in bytes; null for <c>ResultGrid:MaxResultBytes</c> plus 64 KiB for the fields around the value.</summary>
    public long? MaxRequestBytes { get; set; }

    /// <summary>True when the silo host should serve HTTP at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Urls) && !string.Equals(Urls.Trim(), Off, StringComparison.OrdinalIgnoreCase);

    /// <summary>The URLs to listen on.</summary>
    public IReadOnlyList<string> UrlList => Enabled ? Urls!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];

    internal static readonly string[] LoopbackNetworks = ["127.0.0.0/8", "::1/128"];

    /// <summary>
    /// A list given as one value (<c>RESULTGRID__HTTP__ANONYMOUSNETWORKS=none</c>, or
    /// <c>10.0.0.0/8,fd00::/8</c>) is that list, separated by ',' or ';'. The configuration binder
    /// fills a list only from its items (<c>…__0</c>) and left such a value unread without a word,
    /// so <c>none</c> from the environment kept loopback anonymous with every role. Items given
    /// as well are kept beside it.
    /// </summary>
    internal static void ReadListsGivenAsOneValue(ResultGridHttpOptions options, IConfiguration section)
    {
        options.AnonymousNetworks = WithValue(section, nameof(AnonymousNetworks), options.AnonymousNetworks);
        options.AnonymousRoles = WithValue(section, nameof(AnonymousRoles), options.AnonymousRoles);
        options.CorsOrigins = WithValue(section, nameof(CorsOrigins), options.CorsOrigins) ?? [];
        options.KnownProxies = WithValue(section, nameof(KnownProxies), options.KnownProxies) ?? [];
        options.KnownNetworks = WithValue(section, nameof(KnownNetworks), options.KnownNetworks) ?? [];
    }

    private static List<string>? WithValue(IConfiguration section, string key, List<string>? items)
    {
        var value = section.GetSection(key).Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            return items;
        }

        var given = value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [.. given.Concat(items ?? []).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    internal IReadOnlyList<string> EffectiveAnonymousNetworks =>
        AnonymousNetworks is null ? LoopbackNetworks
        : AnonymousNetworks.Any(n => string.Equals(n.Trim(), Off, StringComparison.OrdinalIgnoreCase)) ? []
        : AnonymousNetworks;

    internal IReadOnlyList<string> EffectiveAnonymousRoles => AnonymousRoles ?? [.. HttpRoles.All];
}

/// <summary>One API key: a name for logs and answers, the secret or its SHA-256, and roles.</summary>
public sealed class HttpApiKey
{
    /// <summary>Shown in answers and logs instead of the key.</summary>
    public string? Name { get; set; }

    /// <summary>The key itself. Prefer <see cref="Sha256"/>, so the process environment never holds it.</summary>
    public string? Secret { get; set; }

    /// <summary>The key's SHA-256, 64 hex digits (<c>printf %s "$KEY" | sha256sum</c>).</summary>
    public string? Sha256 { get; set; }

    /// <summary>Comma-separated: <c>read</c>, <c>write</c>, <c>operate</c>.</summary>
    public string? Roles { get; set; }
}

/// <summary>JWT bearer validation: the identity provider, the audience, and the claim that carries roles.</summary>
public sealed class HttpJwtOptions
{
    /// <summary>The issuer's URL; its OpenID configuration gives the signing keys. Empty: JWT is off.</summary>
    public string? Authority { get; set; }

    public string? Audience { get; set; }

    /// <summary>The claim whose values are roles (read, write, operate).</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>False only for an authority on loopback in development and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    internal bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>Refuses, at start-up, HTTP settings the API could not honour, naming each and what is allowed.</summary>
internal sealed class ResultGridHttpOptionsValidator(IConfiguration configuration) : IValidateOptions<ResultGridHttpOptions>
{
    private const string Prefix = ResultGridHttpOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, ResultGridHttpOptions options)
    {
        var failures = new List<string>();
        foreach (var url in options.UrlList)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"{Prefix}Urls has '{url}', which is not an http:// or https:// URL (e.g. http://127.0.0.1:5080); separate several with ';', or set it empty or to 'none' to turn HTTP off.");
            }
        }

        CheckPath(failures, "PathBase", options.PathBase, allowEmpty: true);
        CheckPath(failures, "Prefix", options.Prefix, allowEmpty: false);
        if (options.DashboardEnabled && options.DashboardPath!.Trim() != "/")
        {
            CheckPath(failures, "DashboardPath", options.DashboardPath.Trim(), allowEmpty: true);
        }

        if (options.DashboardEnabled && string.Equals(options.DashboardPath!.Trim().TrimEnd('/'), options.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"{Prefix}DashboardPath is '{options.DashboardPath}', the same path as {Prefix}Prefix: give the dashboard a path of its own (the default is /), or 'none' to turn it off.");
        }
        foreach (var network in options.EffectiveAnonymousNetworks)
        {
            if (!HttpNetworks.TryParse(network, out _))
            {
                failures.Add($"{Prefix}AnonymousNetworks has '{network}', which is not a network: give CIDRs such as 10.0.0.0/8 or fd00::/8, single addresses, or 'none'.");
            }
        }

        foreach (var role in options.EffectiveAnonymousRoles)
        {
            if (!HttpRoles.IsKnown(role))
            {
                failures.Add($"{Prefix}AnonymousRoles has '{role}'; roles are {string.Join(", ", HttpRoles.All)}.");
            }
        }

        CheckKeys(failures, options.Keys);
        if (options.Jwt.Enabled)
        {
            if (!Uri.TryCreate(options.Jwt.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("http" or "https"))
            {
                failures.Add($"{Prefix}Jwt:Authority is '{options.Jwt.Authority}', which is not an absolute http(s) URL of the token issuer.");
            }

            if (string.IsNullOrWhiteSpace(options.Jwt.Audience))
            {
                failures.Add($"{Prefix}Jwt:Audience is empty: with Jwt:Authority set, name the audience the tokens are issued for.");
            }

            if (string.IsNullOrWhiteSpace(options.Jwt.RolesClaim))
            {
                failures.Add($"{Prefix}Jwt:RolesClaim is empty: name the claim that carries the roles (for example 'roles').");
            }
        }

        foreach (var origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            {
                failures.Add($"{Prefix}CorsOrigins has '{origin}', which is not an origin: give scheme, host and port only, e.g. https://app.example.com.");
            }
        }

        foreach (var proxy in options.KnownProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"{Prefix}KnownProxies has '{proxy}', which is not an IP address.");
            }
        }

        foreach (var network in options.KnownNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                failures.Add($"{Prefix}KnownNetworks has '{network}', which is not a CIDR network such as 10.0.0.0/8.");
            }
        }

        if (double.IsNaN(options.MaxWaitSeconds) || options.MaxWaitSeconds is < 1 or > 3600)
        {
            failures.Add($"{Prefix}MaxWaitSeconds is {options.MaxWaitSeconds.ToString(CultureInfo.InvariantCulture)}; it must be from 1 to 3600 seconds (clients wait longer by asking again).");
        }

        if (double.IsNaN(options.KeepAliveSeconds) || options.KeepAliveSeconds is < 1 or > 300)
        {
            failures.Add($"{Prefix}KeepAliveSeconds is {options.KeepAliveSeconds.ToString(CultureInfo.InvariantCulture)}; it must be from 1 to 300 seconds.");
        }

        if (options.MaxRequestBytes is < 1024)
        {
            failures.Add($"{Prefix}MaxRequestBytes is {options.MaxRequestBytes}; it must be at least 1024 bytes, or unset for ResultGrid:MaxResultBytes plus 64 KiB.");
        }

        failures.AddRange(KeysOutsideTheEnvironment());
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPath(List<string> failures, string key, string? value, bool allowEmpty)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (!allowEmpty)
            {
                failures.Add($"{Prefix}{key} is empty; give a path such as /api.");
            }

            return;
        }

        if (!value.StartsWith('/') || value.EndsWith('/') || value.Contains("//", StringComparison.Ordinal) || value.Any(c => char.IsWhiteSpace(c) || c is '?' or '#'))
        {
            failures.Add($"{Prefix}{key} is '{value}'; it must start with '/', not end with one, and hold no spaces, '?' or '#' (e.g. /resultgrid).");
        }
    }

    private static void CheckKeys(List<string> failures, List<HttpApiKey> keys)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var at = $"{Prefix}Keys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                failures.Add($"{at}:Name is empty: each key needs a name, shown in answers and logs instead of the key.");
            }
            else if (!names.Add(key.Name))
            {
                failures.Add($"{at}:Name '{key.Name}' is used by another key; names must be unique.");
            }

            var hasSecret = !string.IsNullOrEmpty(key.Secret);
            var hasHash = !string.IsNullOrEmpty(key.Sha256);
            if (hasSecret == hasHash)
            {
                failures.Add($"{at} has {(hasSecret ? "both Secret and Sha256" : "neither Secret nor Sha256")}: give exactly one (Sha256 is the key's SHA-256 as 64 hex digits).");
            }
            else if (hasSecret && key.Secret!.Length < 16)
            {
                failures.Add($"{at}:Secret has {key.Secret.Length} characters; an API key needs at least 16 (e.g. openssl rand -hex 32).");
            }
            else if (hasHash && (key.Sha256!.Length != 64 || !key.Sha256.All(char.IsAsciiHexDigit)))
            {
                failures.Add($"{at}:Sha256 is not 64 hex digits: give the SHA-256 of the key, e.g. printf %s \"$KEY\" | sha256sum.");
            }

            var roles = HttpRoles.Parse(key.Roles);
            if (roles.Count == 0)
            {
                failures.Add($"{at}:Roles is empty: give one or more of {string.Join(", ", HttpRoles.All)}, comma-separated.");
            }

            foreach (var role in roles.Where(r => !HttpRoles.IsKnown(r)))
            {
                failures.Add($"{at}:Roles has '{role}'; roles are {string.Join(", ", HttpRoles.All)}.");
            }
        }
    }

    /// <summary>
    /// A key written into a settings file or onto a command line (where every process listing
    /// shows it) is refused: keys come from the environment, or from configuration a host builds
    /// in code (a secret store), never from a committed file.
    /// </summary>
    private IEnumerable<string> KeysOutsideTheEnvironment()
    {
        if (configuration is not IConfigurationRoot root)
        {
            yield break;
        }

        foreach (var provider in root.Providers)
        {
            var source = provider switch
            {
                FileConfigurationProvider file => file.Source.Path ?? "a settings file",
                CommandLineConfigurationProvider => "the command line",
                _ => null,
            };
            if (source is null)
            {
                continue;
            }

            foreach (var index in provider.GetChildKeys([], Prefix + "Keys").Distinct(StringComparer.OrdinalIgnoreCase))
            {
                foreach (var secretField in new[] { "Secret", "Sha256" })
                {
                    if (provider.TryGet($"{Prefix}Keys:{index}:{secretField}", out var value) && !string.IsNullOrEmpty(value))
                    {
                        yield return $"{Prefix}Keys:{index}:{secretField} is set in {source}; API keys come from the environment only (RESULTGRID__HTTP__KEYS__{index}__{secretField.ToUpperInvariant()}), never from a file or the command line.";
                    }
                }
            }
        }
    }
}
