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

    /// <summary>
    /// Gather concurrent writes into one multi-key script call (URL: <c>coalesce_writes</c>), the
    /// Redis group commit: while <see cref="Writers"/> batches are in flight, the writes that
    /// arrive meanwhile wait and go together (per hash slot on Redis Cluster), each with its own
    /// outcome, TTL and publish, each acknowledged only once its batch's reply has come. A lone
    /// write goes at once with the single-key script. Default on; off sends every write alone.
    /// </summary>
    public bool CoalesceWrites { get; set; } = true;

    /// <summary>
    /// How long a batch waits for more writes after its first (URL: <c>batch_window_ms</c>).
    /// Default 0: what queued while the previous batch was in flight goes at once, which gathers
    /// as much under load and adds no wait to a lone write. 0 to 1000 ms.
    /// </summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.Zero;

    /// <summary>The most writes in one script call (URL: <c>batch_size</c>). Default 128; 1 to 1000.</summary>
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>Write batches in flight at once (URL: <c>writers</c>). Default 2; 1 to 64.</summary>
    public int Writers { get; set; } = 2;

    /// <summary>Retries of calls that lost the connection: exponential back-off with jitter.</summary>
    public StoreRetryOptions Retry { get; set; } = new();
}
