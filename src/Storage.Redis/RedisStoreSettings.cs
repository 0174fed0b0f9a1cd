using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// A Redis backend URL (any scheme of <see cref="RedisAddress.Schemes"/>) merged with the
/// options: what the store connects with. <see cref="Validate"/> says what is wrong with a URL;
/// <see cref="Create"/> expects one it accepted.
/// </summary>
internal sealed class RedisStoreSettings
{
    private static readonly string[] KnownParameters =
    [
        "global_keyprefix", "db", "master_name", "max_connections", "socket_timeout", "socket_connect_timeout", "socket_keepalive",
        "health_check_interval", "retry_on_timeout", "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile",
        "single_retrieval", "coalesce_writes", "batch_window_ms", "batch_size", "writers",
    ];

    /// <summary>The most writes one batched script call carries: its keys and twice as many arguments stay far below Lua's stack limit.</summary>
    internal const int MaxBatchSizeLimit = 1000;

    private static readonly Dictionary<string, string> CertReqNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["required"] = "required", ["cert_required"] = "required",
        ["optional"] = "optional", ["cert_optional"] = "optional",
        ["none"] = "none", ["cert_none"] = "none",
    };

    private RedisStoreSettings(ConfigurationOptions configuration, int database, string keyPrefix, string endpoints, string redactedUrl, int connections, bool retryOnTimeout, StoreRetryOptions retry, string certReqs, bool singleRetrieval, RedisWriteBatching batching)
    {
        Batching = batching;
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
        SingleRetrieval = singleRetrieval;
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

    /// <summary>Each READY result is handed out once (URL: <c>single_retrieval</c>).</summary>
    public bool SingleRetrieval { get; }

    /// <summary>Coalesced writes: on or off, window, size, batches in flight.</summary>
    public RedisWriteBatching Batching { get; }

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

            if (merged.BatchWindow < TimeSpan.Zero || merged.BatchWindow > TimeSpan.FromSeconds(1))
            {
                return $"Redis batch_window_ms ({RedisResultStoreOptions.SectionName}:BatchWindow) is {merged.BatchWindow.TotalMilliseconds} ms; it must be from 0 to 1000 milliseconds.";
            }

            if (merged.MaxBatchSize is < 1 or > MaxBatchSizeLimit)
            {
                return $"Redis batch_size ({RedisResultStoreOptions.SectionName}:MaxBatchSize) is {merged.MaxBatchSize}; it must be from 1 to {MaxBatchSizeLimit}.";
            }

            if (merged.Writers is < 1 or > 64)
            {
                return $"Redis writers ({RedisResultStoreOptions.SectionName}:Writers) is {merged.Writers}; it must be from 1 to 64.";
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
            SingleRetrieval = q.TryGetValue("single_retrieval", out var sr) ? UrlParameters.Flag(sr, "single_retrieval") : options.SingleRetrieval,
            CoalesceWrites = q.TryGetValue("coalesce_writes", out var cw) ? UrlParameters.Flag(cw, "coalesce_writes") : options.CoalesceWrites,
            BatchWindow = q.TryGetValue("batch_window_ms", out var bw) ? UrlParameters.Milliseconds(bw, "batch_window_ms") : options.BatchWindow,
            MaxBatchSize = q.TryGetValue("batch_size", out var bs) ? UrlParameters.WholeNumber(bs, "batch_size") : options.MaxBatchSize,
            Writers = q.TryGetValue("writers", out var wr) ? UrlParameters.WholeNumber(wr, "writers") : options.Writers,
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
            merged.MaxConnections, merged.RetryOnTimeout, merged.Retry, certReqs, merged.SingleRetrieval,
            new RedisWriteBatching(merged.CoalesceWrites, merged.BatchWindow, merged.MaxBatchSize, merged.Writers));
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
