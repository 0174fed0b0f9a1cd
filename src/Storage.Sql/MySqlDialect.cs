using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using MySqlConnector;

namespace ResultGrid.Storage.Sql;

/// <summary>MySQL and MariaDB through MySqlConnector.</summary>
internal sealed class MySqlDialect(string isolationLevel = "READ COMMITTED") : SqlDialect
{
    public override string Name => "mysql";

    // Ids compare byte for byte (utf8mb4_bin): under MySQL's default collation 'A' and 'a' would be one result.
    protected override string IdType => "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
    protected override string ShortTextType => "VARCHAR(255)";
    protected override string LongTextType => "LONGTEXT";
    protected override string BlobType => "LONGBLOB";
    protected override string TimeType => "DATETIME(6)";
    protected override string TableOptions => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    protected override bool InlineIndexes => true;

    public override string Quote(string identifier) => "`" + identifier + "`";

    public override DbDataSource CreateDataSource(SqlStoreSettings settings)
    {
        var o = settings.Options;
        var builder = new MySqlConnectionStringBuilder
        {
            Server = settings.Host,
            Port = (uint)(settings.Port ?? 3306),
            Database = settings.Database,
            UserID = settings.User,
            Password = settings.Password,
            ApplicationName = settings.ApplicationName,
            MinimumPoolSize = (uint)o.MinPoolSize,
            MaximumPoolSize = (uint)o.MaxPoolSize,
            ConnectionLifeTime = (uint)o.ConnectionLifetime.TotalSeconds,
            ConnectionTimeout = (uint)Math.Max(1, Math.Ceiling(o.ConnectTimeout.TotalSeconds)),
            DefaultCommandTimeout = (uint)Math.Max(1, Math.Ceiling(o.CommandTimeout.TotalSeconds)),
            // Pre-ping, MySqlConnector's way: a pooled connection is reset (a round trip) before reuse.
            ConnectionReset = o.PrePing,
        };
        if (o.SslMode is { } mode)
        {
            builder.SslMode = mode switch
            {
                "disabled" => MySqlSslMode.None,
                "preferred" => MySqlSslMode.Preferred,
                "required" => MySqlSslMode.Required,
                "verify_ca" => MySqlSslMode.VerifyCA,
                _ => MySqlSslMode.VerifyFull,
            };
        }

        if (o.SslRootCert is { } ca)
        {
            builder.SslCa = ca;
        }

        return new MySqlDataSource(builder.ConnectionString);
    }

    public override string InsertVersion(SqlTables t) =>
        $"INSERT IGNORE INTO {t.Version} (table_name, version) VALUES (@p0, @p1)";

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
    public override string UpsertTasks(SqlTables t, int rows)
    {
        const string keep = "state = 'SUCCESS' AND (expires_at IS NULL OR expires_at > VALUES(updated_at))";
        var assignments = TaskColumns.Skip(1).Where(c => c is not ("state" or "expires_at" or "updated_at"))
            .Append("updated_at").Append("expires_at")
            .Select(c => $"{c} = IF({keep}, {c}, VALUES({c}))")
            .Append("state = IF(updated_at = VALUES(updated_at), VALUES(state), state)");
        var ids = string.Join(", ", Enumerable.Range(0, rows).Select(r => "@p" + (r * TaskColumns.Length).ToString(CultureInfo.InvariantCulture)));
        return $"SET SESSION TRANSACTION ISOLATION LEVEL {isolationLevel}; " +
               $"INSERT INTO {t.Tasks} ({ColumnList}) VALUES {ValuesList(rows, TaskColumns.Length)} " +
               $"ON DUPLICATE KEY UPDATE {string.Join(", ", assignments)}; " +
               $"SELECT {ColumnList} FROM {t.Tasks} WHERE task_id IN ({ids}) AND state = 'SUCCESS'";
    }

    public override bool UpsertReturnsApplied => false;

    /// <summary>
    /// No conditional DO UPDATE and no RETURNING here either: every column keeps its value while
    /// the stored row is live, expires_at (which that condition reads) assigned last; a COUNT in
    /// the same round trip, before the INSERT, says how many of the ids were already live.
    /// </summary>
    public override string ImportTasks(SqlTables t, int rows)
    {
        const string live = "(expires_at IS NULL OR expires_at > VALUES(updated_at))";
        var assignments = TaskColumns.Skip(1).Where(c => c != "expires_at").Append("expires_at")
            .Select(c => $"{c} = IF({live}, {c}, VALUES({c}))");
        var ids = string.Join(", ", Enumerable.Range(0, rows).Select(r => "@p" + (r * TaskColumns.Length).ToString(CultureInfo.InvariantCulture)));
        return $"SELECT COUNT(*) FROM {t.Tasks} WHERE task_id IN ({ids}) AND (expires_at IS NULL OR expires_at > @p7); " +
               $"INSERT INTO {t.Tasks} ({ColumnList}) VALUES {ValuesList(rows, TaskColumns.Length)} " +
               $"ON DUPLICATE KEY UPDATE {string.Join(", ", assignments)}";
    }

    public override string ImportGroup(SqlTables t)
    {
        const string live = "(expires_at IS NULL OR expires_at > @p5)";
        return $"SELECT COUNT(*) FROM {t.Groups} WHERE group_id = @p0 AND {live}; " +
               $"INSERT INTO {t.Groups} (group_id, task_ids, date_done, expires_at, chord) VALUES (@p0, @p1, @p2, @p3, @p4) " +
               $"ON DUPLICATE KEY UPDATE task_ids = IF({live}, task_ids, VALUES(task_ids)), date_done = IF({live}, date_done, VALUES(date_done)), " +
               $"chord = IF({live}, chord, VALUES(chord)), expires_at = IF({live}, expires_at, VALUES(expires_at))";
    }

    // MySQL refuses LIMIT inside an IN subquery, but has DELETE … LIMIT, which walks the index.
    public override string DeleteExpired(string table, string key, int limit) =>
        $"DELETE FROM {table} WHERE expires_at <= @p0 LIMIT {limit.ToString(CultureInfo.InvariantCulture)}";

    public override string UpsertGroup(SqlTables t) =>
        $"INSERT INTO {t.Groups} (group_id, task_ids, date_done, expires_at, chord) VALUES (@p0, @p1, @p2, @p3, @p4) " +
        "ON DUPLICATE KEY UPDATE task_ids = VALUES(task_ids), date_done = VALUES(date_done), expires_at = VALUES(expires_at), chord = VALUES(chord)";

    // An expired claim is removed first; then the primary key lets exactly one INSERT IGNORE in,
    // and ROW_COUNT() says whether it was this one.
    public override string Claim(SqlTables t) =>
        $"DELETE FROM {t.Claims} WHERE claim_key = @p0 AND expires_at <= @p1; " +
        $"INSERT IGNORE INTO {t.Claims} (claim_key, claimed_at, expires_at) VALUES (@p0, @p1, @p2); SELECT ROW_COUNT()";

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
