namespace ResultGrid.Storage.Redis;

/// <summary>
/// Settings of the Redis store, bound from <c>ResultGrid:Redis</c>. The same knobs as Celery's
/// (redis-py's) URL parameters, which win over these when both are given.
/// </summary>
public sealed class RedisResultStoreOptions
{
    /// <summary>The configuration section these options are bound from: <c>ResultGrid:Redis</c>.</summary>
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

    /// <summary>The key of <see cref="SslCertFile"/>, a PEM file (URL: <c>ssl_keyfile</c>); give both or neither.</summary>
    public string? SslKeyFile { get; set; }

    /// <summary>
    /// Let the connection run INFO and CONFIG GET, which StackExchange.Redis keeps behind its admin
    /// switch, so the store can report persistence and eviction settings (the CLI's check turns it
    /// on). Only that report (the diagnostics capability) runs them; reading and writing results
    /// never runs an admin command. Default off.
    /// </summary>
    public bool AllowAdmin { get; set; }

    /// <summary>
    /// Hand each READY result out once, like Celery's RPC backend with <c>result_persistent</c>
    /// (URL: <c>single_retrieval</c>): the first read or wait takes it atomically in Redis (one
    /// Lua script) and leaves a CONSUMED marker with the key's TTL; later reads see CONSUMED and
    /// later writes are refused. Unlike <c>rpc://</c>, results survive a silo restart. Default off.
    /// </summary>
    public bool SingleRetrieval { get; set; }

    /// <summary>Retries of calls that lost the connection: exponential back-off with jitter.</summary>
    public StoreRetryOptions Retry { get; set; } = new();
}
