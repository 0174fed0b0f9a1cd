using System.Data.Common;
using System.Text;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// The tables' names as the SQL text writes them (quoted, schema-qualified).
/// </summary>
internal sealed record SqlTables(string Tasks, string Groups, string Version, string Claims, string TaskTableName, string GroupTableName);

/// <summary>One index of the DDL: its table as the SQL text writes it, its name and columns, and whether the sweep relies on it.</summary>
internal sealed record SqlIndex(string Table, string Name, string Columns, bool Cleanup);

/// <summary>
/// What differs between databases: SQL text, column types, the driver and its error codes.
/// Everything else (batching, retries, mapping rows to results, queries) is in
/// the store, once.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>The results table's columns, in the order every statement lists them.</summary>
    public static readonly string[] TaskColumns =
    [
        "task_id", "state", "payload", "content_type", "content_encoding", "traceback", "date_done", "updated_at", "expires_at",
        "name", "args", "args_content_type", "args_content_encoding", "kwargs", "kwargs_content_type", "kwargs_content_encoding",
        "worker", "retries", "queue", "children", "group_id", "parent_id",
    ];

    /// <summary>The schema version these tables are at. A later release that changes them migrates from this number.</summary>
    public const int SchemaVersion = 1;

    public abstract string Name { get; }

    /// <summary>How many batches may be written at once: SQLite has a single writer.</summary>
    public virtual int MaxWriters => int.MaxValue;

    public abstract DbDataSource CreateDataSource(SqlStoreSettings settings);

    public abstract string Quote(string identifier);

    public SqlTables Tables(SqlResultStoreOptions options)
    {
        string Qualify(string table) => options.Schema is { } schema && SupportsSchemas ? Quote(schema) + "." + Quote(table) : Quote(table);
        return new SqlTables(Qualify(options.TaskTable), Qualify(options.GroupTable), Qualify("resultgrid_schema"), Qualify(options.TaskTable + "_claims"), options.TaskTable, options.GroupTable);
    }

    protected virtual bool SupportsSchemas => false;

    // Column types.
    protected abstract string IdType { get; }
    protected abstract string ShortTextType { get; }
    protected abstract string LongTextType { get; }
    protected abstract string BlobType { get; }
    protected abstract string TimeType { get; }
    protected virtual string TableOptions => string.Empty;

    /// <summary>MySQL 8 has no CREATE INDEX IF NOT EXISTS, so its indexes are declared inside CREATE TABLE.</summary>
    protected virtual bool InlineIndexes => false;

    /// <summary>The DDL, idempotent: tables, indexes and the schema-version table.</summary>
    public IReadOnlyList<string> CreateSchema(SqlTables t, string? schema)
    {
        var statements = new List<string>();
        if (schema is not null && SupportsSchemas)
        {
            statements.Add($"CREATE SCHEMA IF NOT EXISTS {Quote(schema)}");
        }

        var indexes = Indexes(t);
        var taskIndexes = indexes.Where(i => i.Table == t.Tasks).ToArray();
        var groupIndexes = indexes.Where(i => i.Table == t.Groups).ToArray();
        var claimIndexes = indexes.Where(i => i.Table == t.Claims).ToArray();

        statements.Add($"""
            CREATE TABLE IF NOT EXISTS {t.Tasks} (
              task_id {IdType} NOT NULL PRIMARY KEY,
              state {ShortTextType} NOT NULL,
              payload {BlobType} NULL,
              content_type {ShortTextType} NULL,
              content_encoding {ShortTextType} NULL,
              traceback {LongTextType} NULL,
              date_done {TimeType} NULL,
              updated_at {TimeType} NOT NULL,
              expires_at {TimeType} NULL,
              name {ShortTextType} NULL,
              args {BlobType} NULL,
              args_content_type {ShortTextType} NULL,
              args_content_encoding {ShortTextType} NULL,
              kwargs {BlobType} NULL,
              kwargs_content_type {ShortTextType} NULL,
              kwargs_content_encoding {ShortTextType} NULL,
              worker {ShortTextType} NULL,
              retries INTEGER NULL,
              queue {ShortTextType} NULL,
              children {LongTextType} NULL,
              group_id {IdType} NULL,
              parent_id {IdType} NULL{Inline(taskIndexes)}
            ){TableOptions}
            """);
        statements.Add($"""
            CREATE TABLE IF NOT EXISTS {t.Groups} (
              group_id {IdType} NOT NULL PRIMARY KEY,
              task_ids {LongTextType} NOT NULL,
              date_done {TimeType} NULL,
              expires_at {TimeType} NULL,
              chord {LongTextType} NULL{Inline(groupIndexes)}
            ){TableOptions}
            """);
        // One-time events (a chord's trigger): the primary key makes the first insert the only one.
        statements.Add($"""
            CREATE TABLE IF NOT EXISTS {t.Claims} (
              claim_key {IdType} NOT NULL PRIMARY KEY,
              claimed_at {TimeType} NOT NULL,
              expires_at {TimeType} NULL{Inline(claimIndexes)}
            ){TableOptions}
            """);
        statements.Add($"""
            CREATE TABLE IF NOT EXISTS {t.Version} (
              table_name {IdType} NOT NULL PRIMARY KEY,
              version INTEGER NOT NULL
            ){TableOptions}
            """);
        if (!InlineIndexes)
        {
            statements.AddRange(indexes.Select(i => $"CREATE INDEX IF NOT EXISTS {Quote(i.Name)} ON {i.Table} ({i.Columns})"));
        }

        return statements;

        string Inline(SqlIndex[] indexes) =>
            InlineIndexes ? string.Concat(indexes.Select(i => $",\n  INDEX {Quote(i.Name)} ({i.Columns})")) : string.Empty;
    }

    /// <summary>
    /// Every index the DDL creates, so that the diagnostics check exactly these. Cleanup indexes
    /// carry the sweep's <c>DELETE … WHERE expires_at &lt;= …</c>; without them each sweep scans the table.
    /// </summary>
    public static IReadOnlyList<SqlIndex> Indexes(SqlTables t) =>
    [
        // Expiry (the cleanup's DELETE), date done, and newest-first queries by state, name and group.
        new(t.Tasks, $"ix_{t.TaskTableName}_expires_at", "expires_at", Cleanup: true),
        new(t.Tasks, $"ix_{t.TaskTableName}_date_done", "date_done", Cleanup: false),
        new(t.Tasks, $"ix_{t.TaskTableName}_updated_at", "updated_at, task_id", Cleanup: false),
        new(t.Tasks, $"ix_{t.TaskTableName}_state", "state, updated_at", Cleanup: false),
        new(t.Tasks, $"ix_{t.TaskTableName}_name", "name, updated_at", Cleanup: false),
        new(t.Tasks, $"ix_{t.TaskTableName}_group_id", "group_id", Cleanup: false),
        new(t.Groups, $"ix_{t.GroupTableName}_expires_at", "expires_at", Cleanup: true),
        new(t.Claims, $"ix_{t.TaskTableName}_claims_expires_at", "expires_at", Cleanup: true),
    ];

    /// <summary>A query whose rows are the names of the indexes in the tables' schema (or database, or file).</summary>
    public abstract string IndexNames(SqlResultStoreOptions options);

    /// <summary>An index name as the database keeps it (PostgreSQL cuts identifiers at 63 bytes).</summary>
    public virtual string StoredName(string name) => name;

    /// <summary>Records the schema version once; a row already there is left alone.</summary>
    public abstract string InsertVersion(SqlTables t);

    /// <summary>
    /// The batched upsert of <paramref name="rows"/> results, parameters <c>@p0…</c> in
    /// <see cref="TaskColumns"/> order per row, that never replaces a stored SUCCESS, in one statement.
    /// </summary>
    public abstract string UpsertTasks(SqlTables t, int rows);

    /// <summary>
    /// True when <see cref="UpsertTasks"/> returns the ids it applied (RETURNING). False when it
    /// returns, instead, the stored rows of the batch's ids that hold SUCCESS (MySQL, which has
    /// no RETURNING), from which the store tells which writes were refused.
    /// </summary>
    public abstract bool UpsertReturnsApplied { get; }

    /// <summary>
    /// True: a batch is one multi-row statement. False (SQLite): a batch is one transaction of
    /// single-row statements, since SQLite binds each of thousands of parameters by a linear
    /// search of their names and a prepared one-row statement rebound per row is far cheaper.
    /// </summary>
    public virtual bool MultiRowUpserts => true;

    public abstract string UpsertGroup(SqlTables t);

    /// <summary>
    /// Takes the claim <c>@p0</c> at <c>@p1</c> until <c>@p2</c> if nobody holds it (or the holder's
    /// claim expired). Its scalar is non-null and non-zero exactly when this call took it.
    /// </summary>
    public abstract string Claim(SqlTables t);

    /// <summary>
    /// Deletes at most <paramref name="limit"/> rows of <paramref name="table"/> whose
    /// <c>expires_at</c> is at or before <c>@p0</c>, found through the expires_at index.
    /// </summary>
    public virtual string DeleteExpired(string table, string key, int limit) =>
        $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at <= @p0 LIMIT {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>
    /// An error that a retry on a new connection may cure: a lost connection, a restart, a
    /// fail-over, a busy database. Never a certificate the client refused: the drivers report
    /// that like a lost connection, but trying again only repeats it.
    /// </summary>
    public bool IsTransient(Exception exception)
    {
        for (var e = exception.InnerException; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return false;
            }
        }

        return IsDriverTransient(exception);
    }

    /// <summary>The driver's own idea of a transient error (its error codes and exception types).</summary>
    protected abstract bool IsDriverTransient(Exception exception);

    /// <summary>Drops the pool's idle connections, which a restarted server has closed.</summary>
    public abstract void ClearPool(DbConnection connection);

    /// <summary>The <c>(@p0, @p1, …), (…)</c> list for <paramref name="rows"/> rows of <paramref name="columns"/> parameters.</summary>
    protected static string ValuesList(int rows, int columns)
    {
        var text = new StringBuilder(rows * columns * 6);
        var n = 0;
        for (var r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < columns; c++)
            {
                if (c > 0)
                {
                    text.Append(", ");
                }

                text.Append("@p").Append(n++);
            }

            text.Append(')');
        }

        return text.ToString();
    }

    protected static string ColumnList => string.Join(", ", TaskColumns);

    /// <summary>
    /// PostgreSQL and SQLite share the standard form: ON CONFLICT … DO UPDATE … WHERE, which
    /// skips the update of a row that holds SUCCESS, and RETURNING, which names the rows written.
    /// </summary>
    protected static string OnConflictUpsert(SqlTables t, int rows) =>
        $"INSERT INTO {t.Tasks} AS cur ({ColumnList}) VALUES {ValuesList(rows, TaskColumns.Length)} " +
        $"ON CONFLICT (task_id) DO UPDATE SET {string.Join(", ", TaskColumns.Skip(1).Select(c => $"{c} = excluded.{c}"))} " +
        // An identical SUCCESS is this very write retried after its commit went unacknowledged: applied, not refused.
        // An expired SUCCESS no longer counts (the cleanup may not have run yet).
        "WHERE cur.state <> 'SUCCESS' OR cur.expires_at <= excluded.updated_at OR (excluded.state = 'SUCCESS' AND cur.payload = excluded.payload) " +
        "RETURNING task_id";

    protected static string OnConflictGroupUpsert(SqlTables t) =>
        $"INSERT INTO {t.Groups} (group_id, task_ids, date_done, expires_at, chord) VALUES (@p0, @p1, @p2, @p3, @p4) " +
        "ON CONFLICT (group_id) DO UPDATE SET task_ids = excluded.task_ids, date_done = excluded.date_done, expires_at = excluded.expires_at, chord = excluded.chord";

    protected static string OnConflictClaim(SqlTables t) =>
        $"INSERT INTO {t.Claims} AS cur (claim_key, claimed_at, expires_at) VALUES (@p0, @p1, @p2) " +
        "ON CONFLICT (claim_key) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at " +
        "WHERE cur.expires_at <= excluded.claimed_at RETURNING claim_key";

    /// <summary>
    /// The bulk import of <paramref name="rows"/> results for a migration (parameters as in
    /// <see cref="UpsertTasks"/>): a row goes in where no live row holds its id (none, or an
    /// expired one the sweep has not removed yet); a live row is left as it is. Its first result
    /// set tells what happened: the ids added where <see cref="UpsertReturnsApplied"/>, otherwise
    /// one count of the batch's ids that were already live.
    /// </summary>
    public virtual string ImportTasks(SqlTables t, int rows) =>
        $"INSERT INTO {t.Tasks} AS cur ({ColumnList}) VALUES {ValuesList(rows, TaskColumns.Length)} {ImportConflict}";

    /// <summary>An import's rule where the id is taken: replace only an expired row; name the rows added.</summary>
    protected static string ImportConflict =>
        $"ON CONFLICT (task_id) DO UPDATE SET {string.Join(", ", TaskColumns.Skip(1).Select(c => $"{c} = excluded.{c}"))} " +
        "WHERE cur.expires_at <= excluded.updated_at RETURNING task_id";

    /// <summary>
    /// One group for a migration, <c>@p0…@p4</c> as in <see cref="UpsertGroup"/> and the time now
    /// in <c>@p5</c>; a live saved group is left as it is. First result as in <see cref="ImportTasks"/>.
    /// </summary>
    public virtual string ImportGroup(SqlTables t) =>
        $"INSERT INTO {t.Groups} AS cur (group_id, task_ids, date_done, expires_at, chord) VALUES (@p0, @p1, @p2, @p3, @p4) " +
        "ON CONFLICT (group_id) DO UPDATE SET task_ids = excluded.task_ids, date_done = excluded.date_done, expires_at = excluded.expires_at, chord = excluded.chord " +
        "WHERE cur.expires_at <= @p5 RETURNING group_id";

    public static SqlDialect For(SqlStoreSettings settings) => settings.Kind switch
    {
        SqlDatabaseKind.PostgreSql => new PostgreSqlDialect(),
        SqlDatabaseKind.MySql => new MySqlDialect(settings.Options.MySqlIsolationLevel),
        _ => new SqliteDialect(),
    };
}
