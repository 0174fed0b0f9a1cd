using System.Net;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// What a Redis backend URL and the Redis options make of the store, read with the store's own
/// parser and rules and without connecting: for tools that judge a configuration
/// (<c>resultgrid doctor</c>), so that their verdict is the store's and not a second parser's.
/// </summary>
public static class RedisBackendInspection
{
    /// <summary>
    /// True when the Redis store serves <paramref name="url"/>'s scheme: <c>redis</c>,
    /// <c>rediss</c>, <c>unix</c>, <c>redis+socket</c> (Celery's name for a Unix socket) or
    /// <c>sentinel</c>.
    /// </summary>
    /// <param name="url">Any backend URL.</param>
    public static bool Handles(BackendUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return RedisAddress.Schemes.Contains(url.Scheme);
    }

    /// <summary>
    /// How the store would connect for <paramref name="url"/> with <paramref name="options"/>:
    /// the same settings it is made with (URL parameters over options). Ask about a URL the
    /// provider accepts (<see cref="ResultStoreProviderRegistry.Validate"/>): for one it refuses,
    /// this throws what making the store throws.
    /// </summary>
    /// <param name="url">A URL <see cref="Handles"/> accepts.</param>
    /// <param name="options">The Redis options (<c>ResultGrid:Redis</c>), as bound for the store.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not a Redis URL.</exception>
    /// <exception cref="FormatException">Its address or a parameter does not parse; the message says which, without the password.</exception>
    /// <exception cref="KeyNotFoundException">Its <c>ssl_cert_reqs</c> is none of required, optional and none.</exception>
    public static RedisBackendDescription Describe(BackendUrl url, RedisResultStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        RequireRedis(url);
        var settings = RedisStoreSettings.Create(url, options);
        var configuration = settings.Configuration;
        return new RedisBackendDescription
        {
            EndPoints = [.. configuration.EndPoints],
            Address = settings.Endpoints,
            Database = settings.Database,
            SentinelMaster = configuration.ServiceName,
            Tls = configuration.Ssl,
            CertReqs = settings.CertReqs,
            HasPassword = !string.IsNullOrEmpty(configuration.Password),
        };
    }

    /// <summary>
    /// The password in <paramref name="url"/>'s user info, as the store reads it (a lone user
    /// info, <c>redis://:secret@host</c> or <c>redis://secret@host</c>, is the password, as in
    /// redis-py), or null when the URL has none. For finding secrets that belong in the
    /// environment; never print it.
    /// </summary>
    /// <param name="url">A URL <see cref="Handles"/> accepts.</param>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not a Redis URL.</exception>
    /// <exception cref="FormatException">The address part does not parse; the message says why, without the password.</exception>
    public static string? PasswordInUrl(BackendUrl url)
    {
        RequireRedis(url);
        return RedisAddress.Parse(url).Password;
    }

    /// <summary>
    /// An endpoint as the store names it in its messages: <c>host:port</c>, an IP address and
    /// port, or a Unix socket's path.
    /// </summary>
    /// <param name="endpoint">One of <see cref="RedisBackendDescription.EndPoints"/>, or any endpoint.</param>
    public static string DescribeEndPoint(EndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return RedisAddress.Describe(endpoint);
    }

    private static void RequireRedis(BackendUrl url)
    {
        if (!Handles(url))
        {
            throw new ArgumentException(
                $"'{url.Redacted}' is not a Redis backend URL; schemes: {string.Join(", ", RedisAddress.Schemes.Select(s => s + "://"))}.", nameof(url));
        }
    }
}

/// <summary>
/// How the Redis store connects for one backend URL and its options, from
/// <see cref="RedisBackendInspection.Describe"/>. It holds no secret, so it may be printed.
/// </summary>
public sealed record RedisBackendDescription
{
    // Only the inspection makes one (a copy with `with` aside): it describes what the store does.
    internal RedisBackendDescription()
    {
    }

    /// <summary>
    /// Where the store connects: the server (a host and port, or a Unix socket) or, with
    /// <see cref="Sentinel"/>, the Sentinels it asks for the master. Name one with
    /// <see cref="RedisBackendInspection.DescribeEndPoint"/>.
    /// </summary>
    public IReadOnlyList<EndPoint> EndPoints { get; init; } = [];

    /// <summary>The endpoints as the store's own messages name them (with the master's name for Sentinel), never with a password.</summary>
    public string Address { get; init; } = string.Empty;

    /// <summary>The database number, from the URL's path or its <c>db</c> parameter; 0 when it names none.</summary>
    public int Database { get; init; }

    /// <summary>True for a <c>sentinel://</c> URL: <see cref="EndPoints"/> are Sentinels, which name the master to connect to.</summary>
    public bool Sentinel => SentinelMaster is not null;

    /// <summary>The master name the Sentinels are asked for (<c>master_name</c>); null without <see cref="Sentinel"/>.</summary>
    public string? SentinelMaster { get; init; }

    /// <summary>True when the connection uses TLS: a <c>rediss://</c> URL (Sentinel discovery and Unix sockets have none here).</summary>
    public bool Tls { get; init; }

    /// <summary>
    /// The server certificate checks in effect (<c>ssl_cert_reqs</c> from the URL, else
    /// <see cref="RedisResultStoreOptions.SslCertReqs"/>), in its short form whatever spelling
    /// was given: <c>required</c> (chain and host name), <c>optional</c> (chain only) or
    /// <c>none</c>. It applies only with <see cref="Tls"/>.
    /// </summary>
    public string CertReqs { get; init; } = string.Empty;

    /// <summary>
    /// How the connection is protected in transit: <see cref="TransportSecurity.None"/> without
    /// TLS, <see cref="TransportSecurity.Unverified"/> with <c>ssl_cert_reqs=none</c>, and
    /// <see cref="TransportSecurity.Verified"/> otherwise (<c>required</c>, and <c>optional</c>,
    /// which checks the chain but not the host name: see <see cref="CertReqs"/>).
    /// </summary>
    public TransportSecurity Security => !Tls ? TransportSecurity.None : CertReqs == "none" ? TransportSecurity.Unverified : TransportSecurity.Verified;

    /// <summary>True when the store sends a password, from the URL or <see cref="RedisResultStoreOptions.Password"/>: with no TLS it crosses the network in clear text.</summary>
    public bool HasPassword { get; init; }
}
