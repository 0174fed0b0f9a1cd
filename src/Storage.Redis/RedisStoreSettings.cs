using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Settings of the Redis store, bound from <c>ResultGrid:Redis</c>. The same knobs as Celery's
/// (redis-py's) URL parameters, which win over these when both are given.
/// </summary>
public sealed class RedisResultStoreOptions
{
    public const string SectionName = "ResultGrid:Redis";

    /// <summary>The password, when the URL has none: set it in the environment (<c>RESULTGRID__REDIS__PASSWORD</c>), never in a committed file.</summary>
    public string? Password { get; set; }

    /// <summary>The ACL user name, when the URL has none.</summary>
    public string? User { get; set; }

    /// <summary>A prefix for every key (Celery's <c>global_keyprefix</c>). URL: <c>global_keyprefix</c>.</summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>
    /// Connections to open (URL: <c>max_connections</c>). StackExchange.Redis multiplexes every
    /// call over one connection, so 1 (the default) serves most silos; more spread the load of a
    /// very busy silo. 1 to 64.
    /// </summary>
    public int MaxConnections { get; set; } = 1;

    /// <summary>How long one call may take before it fails (URL: <c>socket_timeout</c>, seconds). Default 5 s.</summary>
    public TimeSpan SocketTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long connecting may take (URL: <c>socket_connect_timeout</c>, seconds). Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>TCP keep-alive on the connections (URL: <c>socket_keepalive</c>). Default on.</summary>
    public bool SocketKeepAlive { get; set; } = true;

    /// <summary>An idle connection is checked with a PING this often (URL: <c>health_check_interval</c>, seconds). Default 30 s.</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Also retry calls that timed out, not only those that lost the connection (URL: <c>retry_on_timeout</c>). Default off, as in Celery.</summary>
    public bool RetryOnTimeout { get; set; }

    /// <summary>
    /// Server certificate checks for <c>rediss://</c> (URL: <c>ssl_cert_reqs</c>): <c>required</c>
    /// (chain and host name, the default), <c>optional</c> (chain only), <c>none</c> (no check: a
    /// man in the middle can read and change every result; for tests only).
    /// </summary>
    public string SslCertReqs { get; set; } = "required";

    /// <summary>A PEM file of the CA that signed the server certificate (URL: <c>ssl_ca_certs</c>); none for the system's roots.</summary>
    public string? SslCaCerts { get; set; }

    /// <summary>A client certificate and its key, PEM files, for servers that ask for one (URL: <c>ssl_certfile</c>, <c>ssl_keyfile</c>).</summary>
    public string? SslCertFile { get; set; }

    public string? SslKeyFile { get; set; }

    /// <summary>
    /// Let the connection run INFO and CONFIG GET, which StackExchange.Redis keeps behind its admin
    /// switch, so the store can report persistence and eviction settings (the CLI's check turns it
    /// on). The store itself never runs an admin command. Default off.
    /// </summary>
    public bool AllowAdmin { get; set; }

    /// <summary>Retries of calls that lost the connection: exponential back-off with jitter.</summary>
    public StoreRetryOptions Retry { get; set; } = new();
}

/// <summary>A parsed, validated <c>redis://</c> or <c>rediss://</c> URL merged with the options.</summary>
internal sealed class RedisStoreSettings
{
    private static readonly string[] KnownParameters =
    [
        "global_keyprefix", "db", "master_name", "max_connections", "socket_timeout", "socket_connect_timeout", "socket_keepalive",
        "health_check_interval", "retry_on_timeout", "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile",
    ];

    private static readonly Dictionary<string, string> CertReqNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["required"] = "required", ["cert_required"] = "required",
        ["optional"] = "optional", ["cert_optional"] = "optional",
        ["none"] = "none", ["cert_none"] = "none",
    };

    private RedisStoreSettings(ConfigurationOptions configuration, int database, string keyPrefix, string endpoints, string redactedUrl, int connections, bool retryOnTimeout, StoreRetryOptions retry, string certReqs)
    {
        Configuration = configuration;
        Database = database;
        KeyPrefix = keyPrefix;
        Keys = new RedisKeys(keyPrefix);
        Endpoints = endpoints;
        RedactedUrl = redactedUrl;
        Connections = connections;
        RetryOnTimeout = retryOnTimeout;
        Retry = retry;
        CertReqs = certReqs;
    }

    public ConfigurationOptions Configuration { get; }
    public int Database { get; }
    public string KeyPrefix { get; }

    /// <summary>The key and channel names under <see cref="KeyPrefix"/>.</summary>
    public RedisKeys Keys { get; }

    public string Endpoints { get; }
    public string RedactedUrl { get; }
    public int Connections { get; }
    public bool RetryOnTimeout { get; }
    public StoreRetryOptions Retry { get; }

    /// <summary>required, optional or none (only meaningful with TLS).</summary>
    public string CertReqs { get; }

    /// <summary>Null when the URL and options are usable; otherwise what is wrong and what is allowed.</summary>
    public static string? Validate(BackendUrl url, RedisResultStoreOptions options)
    {
        try
        {
            RedisAddress.Parse(url);
        }
        catch (FormatException ex)
        {
            return $"The backend URL {ex.Message}";
        }

        if (UrlParameters.Unknown(url, KnownParameters) is { } unknown)
        {
            return unknown;
        }

        try
        {
            var merged = Merge(url, options);
            if (merged.MaxConnections is < 1 or > 64)
            {
                return $"Redis max_connections is {merged.MaxConnections}; it must be from 1 to 64.";
            }

            foreach (var (name, value) in new[] { ("socket_timeout", merged.SocketTimeout), ("socket_connect_timeout", merged.ConnectTimeout), ("health_check_interval", merged.HealthCheckInterval) })
            {
                if (value <= TimeSpan.Zero || value > TimeSpan.FromMinutes(10))
                {
                    return $"Redis {name} is {value.TotalSeconds} s; it must be more than 0 and at most 600 seconds.";
                }
            }

            if (!CertReqNames.ContainsKey(merged.SslCertReqs))
            {
                return $"Redis ssl_cert_reqs is '{merged.SslCertReqs}'; allowed: required, optional, none.";
            }

            foreach (var (name, file) in new[] { ("ssl_ca_certs", merged.SslCaCerts), ("ssl_certfile", merged.SslCertFile), ("ssl_keyfile", merged.SslKeyFile) })
            {
                if (file is not null && !File.Exists(file))
                {
                    return $"Redis {name} names '{file}', which does not exist.";
                }
            }

            if ((merged.SslCertFile is null) != (merged.SslKeyFile is null))
            {
                return "Redis ssl_certfile and ssl_keyfile go together: give both or neither.";
            }

            return merged.Retry.Validate($"{RedisResultStoreOptions.SectionName}:Retry");
        }
        catch (FormatException ex)
        {
            return $"The backend URL '{url.Redacted}': {ex.Message}";
        }
    }

    /// <summary>The options with the URL's parameters applied on top.</summary>
    private static RedisResultStoreOptions Merge(BackendUrl url, RedisResultStoreOptions options)
    {
        var q = url.Query;
        return new RedisResultStoreOptions
        {
            Password = options.Password,
            User = options.User,
            KeyPrefix = q.TryGetValue("global_keyprefix", out var prefix) ? prefix : options.KeyPrefix,
            MaxConnections = q.TryGetValue("max_connections", out var mc) ? UrlParameters.WholeNumber(mc, "max_connections") : options.MaxConnections,
            SocketTimeout = q.TryGetValue("socket_timeout", out var st) ? UrlParameters.Seconds(st, "socket_timeout") : options.SocketTimeout,
            ConnectTimeout = q.TryGetValue("socket_connect_timeout", out var ct) ? UrlParameters.Seconds(ct, "socket_connect_timeout") : options.ConnectTimeout,
            SocketKeepAlive = q.TryGetValue("socket_keepalive", out var ka) ? UrlParameters.Flag(ka, "socket_keepalive") : options.SocketKeepAlive,
            HealthCheckInterval = q.TryGetValue("health_check_interval", out var hc) ? UrlParameters.Seconds(hc, "health_check_interval") : options.HealthCheckInterval,
            RetryOnTimeout = q.TryGetValue("retry_on_timeout", out var rt) ? UrlParameters.Flag(rt, "retry_on_timeout") : options.RetryOnTimeout,
            SslCertReqs = q.TryGetValue("ssl_cert_reqs", out var cr) ? cr : options.SslCertReqs,
            SslCaCerts = q.TryGetValue("ssl_ca_certs", out var ca) ? ca : options.SslCaCerts,
            SslCertFile = q.TryGetValue("ssl_certfile", out var cf) ? cf : options.SslCertFile,
            SslKeyFile = q.TryGetValue("ssl_keyfile", out var kf) ? kf : options.SslKeyFile,
            Retry = options.Retry,
            AllowAdmin = options.AllowAdmin,
        };
    }

    public static RedisStoreSettings Create(BackendUrl url, RedisResultStoreOptions options)
    {
        var merged = Merge(url, options);
        var address = RedisAddress.Parse(url);
        var certReqs = CertReqNames[merged.SslCertReqs];
        var configuration = new ConfigurationOptions
        {
            User = string.IsNullOrEmpty(address.User) ? merged.User : address.User,
            Password = string.IsNullOrEmpty(address.Password) ? merged.Password : address.Password,
            ServiceName = address.SentinelMaster,
            Ssl = url.Scheme == "rediss",
            AbortOnConnectFail = true,
            AllowAdmin = merged.AllowAdmin,
            ConnectTimeout = (int)merged.ConnectTimeout.TotalMilliseconds,
            SyncTimeout = (int)merged.SocketTimeout.TotalMilliseconds,
            AsyncTimeout = (int)merged.SocketTimeout.TotalMilliseconds,
            KeepAlive = Math.Max(1, (int)merged.HealthCheckInterval.TotalSeconds),
            TcpKeepAlive = merged.SocketKeepAlive,
            ClientName = "resultgrid",
            // Our retry policy decides how long to keep trying, so a call during an outage
            // fails fast instead of waiting in the driver's backlog.
            BacklogPolicy = BacklogPolicy.FailFast,
        };
        foreach (var endpoint in address.EndPoints)
        {
            configuration.EndPoints.Add(endpoint);
        }

        if (configuration.Ssl)
        {
            var ca = merged.SslCaCerts is { } caPath ? X509CertificateLoader.LoadCertificateFromFile(caPath) : null;
            configuration.CertificateValidation += (_, certificate, _, errors) => CheckServerCertificate(certificate, errors, ca, certReqs);
            if (merged.SslCertFile is { } certFile)
            {
                configuration.SetUserPemCertificate(certFile, merged.SslKeyFile);
            }
        }

        return new RedisStoreSettings(configuration, address.Database, merged.KeyPrefix, address.Display, url.Redacted,
            merged.MaxConnections, merged.RetryOnTimeout, merged.Retry, certReqs);
    }

    /// <summary>ssl_cert_reqs: required checks chain and name, optional the chain, none nothing. A CA file replaces the system roots.</summary>
    internal static bool CheckServerCertificate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2? ca, string certReqs)
    {
        if (certReqs == "none")
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        if (ca is not null)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var server = new X509Certificate2(certificate);
            if (!chain.Build(server))
            {
                return false;
            }

            errors &= ~SslPolicyErrors.RemoteCertificateChainErrors;
        }

        if (certReqs == "optional")
        {
            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
        }

        return errors == SslPolicyErrors.None;
    }
}

/// <summary>The provider for <c>redis://</c>, <c>rediss://</c>, <c>unix://</c> (and Celery's <c>redis+socket://</c>) and <c>sentinel://</c>.</summary>
internal sealed class RedisResultStoreProvider(IOptions<RedisResultStoreOptions> options, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    public IReadOnlyCollection<string> Schemes => RedisAddress.Schemes;

    public string? Validate(BackendUrl url) => RedisStoreSettings.Validate(url, options.Value);

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new RedisResultStore(RedisStoreSettings.Create(url, options.Value), time, loggers.CreateLogger<RedisResultStore>());
}
