using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using MySqlConnector;

namespace ResultGrid.Storage.Sql;

/// <summary>MySQL and MariaDB through MySqlConnector.</summary>
internal sealed class MySqlDialect(string isolationLevel = "READ COMMITTED") : ServerSqlDialect<MySqlSslMode>(
    sslModeParameter: "ssl_mode",
    rootCertificateParameter: "ssl_ca",
    driverDefaultSslMode: "preferred",
    tlsModes:
    [
        ("disabled", MySqlSslMode.None, TransportSecurity.None),
        ("preferred", MySqlSslMode.Preferred, TransportSecurity.None),
        ("required", MySqlSslMode.Required, TransportSecurity.Unverified),
        ("verify_ca", MySqlSslMode.VerifyCA, TransportSecurity.Verified),
        ("verify_identity", MySqlSslMode.VerifyFull, TransportSecurity.Verified),
    ],
    ownParameters: ["isolation_level", "charset"])
{
    private const int StandardPort = 3306;

    /// <summary>The levels <c>isolation_level</c> takes, as <c>SET SESSION TRANSACTION ISOLATION LEVEL</c> writes them.</summary>
    private static readonly string[] IsolationLevels = ["READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"];

    public override string Name => "mysql";

    /// <summary>
    /// The batch's trim as MySQL and MariaDB take it: the entries are numbered per task in a
    /// derived table, which they materialise (a plain subquery on the table being deleted from is
    /// refused, error 1093).
    /// </summary>
    public override string TrimHistory(SqlTables t, IEnumerable<string> taskParameters, int keep) =>
        $"DELETE FROM {t.History} WHERE entry_id IN (SELECT entry_id FROM (" +
        $"SELECT entry_id, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY entry_id DESC) AS rn FROM {t.History} " +
        $"WHERE task_id IN ({string.Join(", ", taskParameters)})) AS k WHERE rn > {keep.ToString(CultureInfo.InvariantCulture)})";
    public override string DisplayName => "MySQL";
    public override int? DefaultPort => StandardPort;
    public override string? AdoNetInvariant => "MySql.Data.MySqlConnector";

    // Ids compare byte for byte (utf8mb4_bin): under MySQL's default collation 'A' and 'a' would be one result.
    protected override string IdType => "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
    protected override string ShortTextType => "VARCHAR(255)";
    protected override string LongTextType => "LONGTEXT";
    protected override string BlobType => "LONGBLOB";
    protected override string TimeType => "DATETIME(6)";
    protected override string AutoIdType => "BIGINT NOT NULL AUTO_INCREMENT";
    protected override string TableOptions => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    protected override bool InlineIndexes => true;

    public override string Quote(string identifier) => "`" + identifier + "`";

    /// <summary>Also the isolation level and, since the store always talks utf8mb4, the charset.</summary>
    public override string? Validate(BackendUrl url, SqlResultStoreOptions options) =>
        SslModeProblem(options)
        ?? (IsolationLevels.Contains(options.MySqlIsolationLevel) ? null : $"MySQL isolation_level is '{options.MySqlIsolationLevel}'; allowed: {string.Join(", ", IsolationLevels)}.")
        ?? CertificateProblem(options)
        ?? (url.Query.TryGetValue("charset", out var charset) && !charset.Equals("utf8mb4", StringComparison.OrdinalIgnoreCase)
            ? $"MySQL charset is '{charset}'; the store always talks utf8mb4 (ids and tracebacks may hold any Unicode), so only charset=utf8mb4 is accepted."
            : null);

    public override DbDataSource CreateDataSource(SqlStoreSettings settings)
    {
        var o = settings.Options;
        var builder = new MySqlConnectionStringBuilder
        {
            Server = settings.Host,
            Port = (uint)(settings.Port ?? StandardPort),
            Database = settings.Database,
            UserID = settings.User,
            Password = settings.Password,
            ApplicationName = settings.ApplicationName,
            MinimumPoolSize = (uint)o.MinPoolSize,
            MaximumPoolSize = (uint)o.MaxPoolSize,
            ConnectionLifeTime = (uint)o.ConnectionLifetime.TotalSeconds,
            ConnectionTimeout = (uint)Seconds(o.ConnectTimeout),
            DefaultCommandTimeout = (uint)Seconds(o.CommandTimeout),
            // Pre-ping, MySqlConnector's way: a pooled connection is reset (a round trip) before reuse.
            ConnectionReset = o.PrePing,
        };
        if (o.SslMode is { } mode)
        {
            builder.SslMode = DriverMode(mode);
        }

        if (o.SslRootCert is { } ca)
        {
            builder.SslCa = ca;
        }

        return new MySqlDataSource(builder.ConnectionString);
    }

    // ConnectionReset (set from PrePing) already checks each pooled connection before reuse.
    public override bool DriverPrePings => true;

    public override string ServerVersionQuery => "SELECT VERSION()";

    /// <summary>
    /// The server's default isolation: the store sets its own level on its statements, but other
    /// clients of the tables get the default.
    /// </summary>
    public override async Task<IReadOnlyList<BackendFact>> DescribeServerAsync(Func<string, Task<string?>> scalar)
    {
        string? isolation;
        try
        {
            isolation = await scalar("SELECT @@transaction_isolation");
        }
        catch (DbException)
        {
            // MariaDB before 11.1 and MySQL 5.7 call it tx_isolation.
            isolation = await scalar("SELECT @@tx_isolation");
        }

        return
        [
            new BackendFact(BackendFactIds.DefaultIsolation, "server default isolation", isolation ?? "?", FactLevel.Ok,
                isolation == "READ-COMMITTED" ? null : $"ResultGrid sets {isolationLevel} on its own statements; other clients of these tables get the server's default."),
        ];
    }

    // 28000 (1045): wrong password or unknown user; "Access denied" also names 1044, a database the user may not use.
    public override bool IsAccessProblem(DbException exception) =>
        exception.SqlState is "28000" || exception.Message.Contains("Access denied", StringComparison.OrdinalIgnoreCase);

    public override string InsertVersion(SqlTables t) =>
        $"INSERT IGNORE INTO {t.Version} (table_name, version) VALUES (@p0, @p1)";

    // MySQL names an index within its table.
    public override string DropIndex(SqlIndex index, SqlResultStoreOptions options) => $"DROP INDEX {Quote(index.Name)} ON {index.Table}";

    public override string IndexNames(SqlResultStoreOptions options) =>
        "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE()";

    /// <summary>
    /// MySQL has no conditional DO UPDATE and no RETURNING. Each column keeps its value while the
    /// row holds an unexpired SUCCESS. MySQL applies the assignments in order, each seeing the
    /// ones before it, so the columns that condition reads (updated_at, expires_at, state) come
    /// last, and state follows updated_at: it changes exactly when updated_at took this write's
    /// value. The isolation level is set in the same round trip, and a SELECT of the batch's ids
    /// that now hold SUCCESS tells the store which writes were refused.
    /// </summary>
    public override string UpsertTasks(SqlTables t, int rows, bool singleRetrieval)
    {
        // Single retrieval keeps a CONSUMED marker as it keeps SUCCESS, and the SELECT returns both kinds of kept row.
        var kept = singleRetrieval ? $"state IN ('SUCCESS', '{TaskStates.Consumed}')" : "state = 'SUCCESS'";
        var keep = $"{kept} AND (expires_at IS NULL OR expires_at > VALUES(updated_at))";
        var assignments = TaskColumn.Names.Skip(1).Where(c => c is not ("state" or "expires_at" or "updated_at"))
            .Append("updated_at").Append("expires_at")
            .Select(c => $"{c} = IF({keep}, {c}, VALUES({c}))")
            .Append("state = IF(updated_at = VALUES(updated_at), VALUES(state), state)");
        return $"SET SESSION TRANSACTION ISOLATION LEVEL {isolationLevel}; " +
               $"INSERT INTO {t.Tasks} ({TaskColumn.List}) VALUES {SqlParameters.ValuesList(rows, TaskColumn.Count)} " +
               $"ON DUPLICATE KEY UPDATE {string.Join(", ", assignments)}; " +
               $"SELECT {TaskColumn.List} FROM {t.Tasks} WHERE task_id IN ({BatchIds(rows)}) AND {kept}";
    }

    // A locking read: a second consumer waits here until the first commits, then finds the marker.
    public override string SelectForConsume(SqlTables t) => base.SelectForConsume(t) + " FOR UPDATE";

    public override bool UpsertReturnsApplied => false;

    /// <summary>
    /// No conditional DO UPDATE and no RETURNING here either: every column keeps its value while
    /// the stored row is live, expires_at (which that condition reads) assigned last; a COUNT in
    /// the same round trip, before the INSERT, says how many of the ids were already live, judged
    /// at the first row's updated_at (every row of an import carries the same time).
    /// </summary>
    public override string ImportTasks(SqlTables t, int rows) =>
        $"SELECT COUNT(*) FROM {t.Tasks} WHERE task_id IN ({BatchIds(rows)}) AND (expires_at IS NULL OR expires_at > {SqlParameters.Name(TaskColumn.UpdatedAt)}); " +
        $"INSERT INTO {t.Tasks} ({TaskColumn.List}) VALUES {SqlParameters.ValuesList(rows, TaskColumn.Count)} " +
        $"ON DUPLICATE KEY UPDATE {KeepWhileLive(TaskColumn.Names, "(expires_at IS NULL OR expires_at > VALUES(updated_at))")}";

    public override string ImportGroup(SqlTables t)
    {
        var live = $"(expires_at IS NULL OR expires_at > {GroupImportTime})";
        return $"SELECT COUNT(*) FROM {t.Groups} WHERE group_id = @p0 AND {live}; " +
               $"INSERT INTO {t.Groups} ({GroupColumn.List}) VALUES {GroupColumn.Values} ON DUPLICATE KEY UPDATE {KeepWhileLive(GroupColumn.Names, live)}";
    }

    // MySQL refuses LIMIT inside an IN subquery, but has DELETE … LIMIT, which walks the index.
    public override string DeleteExpired(string table, string key, int limit) =>
        $"DELETE FROM {table} WHERE expires_at <= @p0 LIMIT {limit.ToString(CultureInfo.InvariantCulture)}";

    public override string UpsertGroup(SqlTables t) =>
        $"INSERT INTO {t.Groups} ({GroupColumn.List}) VALUES {GroupColumn.Values} " +
        $"ON DUPLICATE KEY UPDATE {string.Join(", ", GroupColumn.Names.Skip(1).Select(c => $"{c} = VALUES({c})"))}";

    // An expired claim is removed first; then the primary key lets exactly one INSERT IGNORE in,
    // and ROW_COUNT() says whether it was this one.
    public override string Claim(SqlTables t) =>
        $"DELETE FROM {t.Claims} WHERE claim_key = @p0 AND expires_at <= @p1; " +
        $"INSERT IGNORE INTO {t.Claims} (claim_key, claimed_at, expires_at) VALUES (@p0, @p1, @p2); SELECT ROW_COUNT()";

    /// <summary>The task_id parameter of each of <paramref name="rows"/> rows of a batched statement.</summary>
    private static string BatchIds(int rows) =>
        string.Join(", ", Enumerable.Range(0, rows).Select(r => SqlParameters.Name(r, TaskColumn.Count, TaskColumn.TaskId)));

    /// <summary>
    /// Every column but the key (the first) keeps its value while <paramref name="live"/> holds,
    /// expires_at, which that condition reads, assigned last.
    /// </summary>
    private static string KeepWhileLive(IEnumerable<string> columns, string live) =>
        string.Join(", ", columns.Skip(1).Where(c => c != "expires_at").Append("expires_at").Select(c => $"{c} = IF({live}, {c}, VALUES({c}))"));

    protected override bool IsDriverTransient(Exception exception) => exception switch
    {
        MySqlException my => my.IsTransient || my.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ServerShutdown
            or MySqlErrorCode.ConnectionCountError or MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout
            || my.InnerException is IOException or SocketException,
        MySqlEndOfStreamException or IOException or SocketException => true,
        _ => false,
    };

    public override void ClearPool(DbConnection connection) => MySqlConnection.ClearPool((MySqlConnection)connection);
}
