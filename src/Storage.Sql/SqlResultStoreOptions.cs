namespace ResultGrid.Storage.Sql;

/// <summary>
/// Settings of the SQL stores, bound from <c>ResultGrid:Sql</c>. The URL's query parameters
/// (<c>?sslmode=verify-full</c>, <c>?max_pool_size=50</c>) win over these when both are given.
/// </summary>
public sealed class SqlResultStoreOptions
{
    /// <summary>The configuration section these options are bound from: <c>ResultGrid:Sql</c>.</summary>
    public const string SectionName = "ResultGrid:Sql";

    /// <summary>
    /// The password, when the URL has none: set it in the environment
    /// (<c>RESULTGRID__SQL__PASSWORD</c>), never in a committed file. Npgsql also reads <c>PGPASSWORD</c>.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>The user, when the URL has none.</summary>
    public string? User { get; set; }

    /// <summary>
    /// Hand each READY result out once, like Celery's RPC backend with <c>result_persistent</c>
    /// (URL: <c>single_retrieval</c>): the first read or wait takes it atomically in the database
    /// (one statement on PostgreSQL; a locked read and update in one transaction on MySQL/MariaDB
    /// and SQLite) and leaves the row as a CONSUMED marker that keeps its expiry; later reads see
    /// CONSUMED and later writes are refused. Default off.
    /// </summary>
    public bool SingleRetrieval { get; set; }

    /// <summary>Create the tables, indexes and schema-version row at start-up, idempotently. Default on.</summary>
    public bool CreateTables { get; set; } = true;

    /// <summary>A schema (PostgreSQL) for the tables; none for the connection's default. Not used by MySQL or SQLite.</summary>
    public string? Schema { get; set; }

    /// <summary>The results table (Celery's <c>database_table_names['task']</c>). Default <c>resultgrid_tasks</c>.</summary>
    public string TaskTable { get; set; } = "resultgrid_tasks";

    /// <summary>The groups table (Celery's <c>database_table_names['group']</c>). Default <c>resultgrid_groups</c>.</summary>
    public string GroupTable { get; set; } = "resultgrid_groups";

    /// <summary>Connections kept open when idle (URL: <c>min_pool_size</c>). Default 0.</summary>
    public int MinPoolSize { get; set; }

    /// <summary>The most connections open at once (URL: <c>max_pool_size</c>; SQLAlchemy's pool_size + max_overflow). Default 20.</summary>
    public int MaxPoolSize { get; set; } = 20;

    /// <summary>A connection older than this is closed when returned to the pool (URL: <c>pool_recycle</c>, seconds). Default 30 min; 0 keeps them.</summary>
    public TimeSpan ConnectionLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Check each connection taken from the pool with a round trip before using it, and drop it
    /// when dead (URL: <c>pool_pre_ping</c>). Default off: a call on a dead connection is retried
    /// on a new one anyway, and the check costs a round trip per call.
    /// </summary>
    public bool PrePing { get; set; }

    /// <summary>How long connecting may take (URL: <c>connect_timeout</c>, seconds). Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one statement may run (URL: <c>command_timeout</c>, seconds). Default 30 s.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>MySQL/MariaDB: the isolation level of the store's statements (URL: <c>isolation_level</c>). Default READ COMMITTED.</summary>
    public string MySqlIsolationLevel { get; set; } = "READ COMMITTED";

    /// <summary>
    /// TLS. PostgreSQL (URL: <c>sslmode</c>): disable, allow, prefer, require, verify-ca, verify-full.
    /// MySQL (URL: <c>ssl_mode</c>): disabled, preferred, required, verify_ca, verify_identity.
    /// None for the driver's default (prefer / preferred). verify-full and verify_identity check
    /// the chain and the host name: use them in production.
    /// </summary>
    public string? SslMode { get; set; }

    /// <summary>A PEM file of the CA that signed the server certificate (URL: <c>sslrootcert</c> or <c>ssl_ca</c>).</summary>
    public string? SslRootCert { get; set; }

    /// <summary>
    /// How long concurrent writes are gathered into one statement after the first arrives
    /// (URL: <c>batch_window_ms</c>). Default 1 ms; 0 sends what is queued at once.
    /// </summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The most results in one batched statement (URL: <c>batch_size</c>). Default 256, 1 to 1000.</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>A batch closes once its payloads reach this many bytes. Default 4 MiB.</summary>
    public int MaxBatchBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Batches in flight at once (URL: <c>writers</c>). Default 4; SQLite always 1, since it has one writer.</summary>
    public int Writers { get; set; } = 4;

    /// <summary>Retries of statements that failed on the connection (a restart, a fail-over): exponential back-off with jitter.</summary>
    public StoreRetryOptions Retry { get; set; } = new();
}
