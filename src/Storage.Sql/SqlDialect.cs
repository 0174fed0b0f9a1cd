using System.Data.Common;
using System.Globalization;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// The tables' names as the SQL text writes them (quoted, schema-qualified).
/// </summary>
internal sealed record SqlTables(string Tasks, string Groups, string Version, string Claims, string TaskTableName, string GroupTableName, string History = "");

/// <summary>One index of the DDL: its table as the SQL text writes it, its name and columns, and whether the sweep relies on it.</summary>
internal sealed record SqlIndex(string Table, string Name, string Columns, bool Cleanup);

/// <summary>
/// What differs between databases: SQL text, column types, URL parameters and TLS modes, the
/// driver (its data source, error codes and bulk path) and the server facts only one database
/// has. The store asks its dialect and never the database's kind, so everything else (batching,
/// retries, mapping rows to results, queries) is in the store, once.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>The schema version these tables are at. A later release that changes them migrates from this number.</summary>
    public const int SchemaVersion = 1;

    /// <summary>The backend's name in messages and metrics, lower case: postgresql, mysql, sqlite.</summary>
    public abstract string Name { get; }

    /// <summary>The database's own name, for sentences: PostgreSQL, MySQL, SQLite.</summary>
    public abstract string DisplayName { get; }

    /// <summary>How many batches may be written at once: SQLite has a single writer.</summary>
    public virtual int MaxWriters => int.MaxValue;

    /// <summary>
    /// How many index builds at the end of a bulk load run at once, each on its own connection:
    /// one where concurrent DDL on one table waits for the other's lock (MariaDB's metadata
    /// lock, SQLite's one writer).
    /// </summary>
    public virtual int IndexBuildsAtOnce => 1;

    /// <summary>The port when the URL names none; null where there is no server (SQLite).</summary>
    public virtual int? DefaultPort => null;

    /// <summary>The query parameters a URL of this database may carry (each read in <see cref="SqlStoreSettings"/>).</summary>
    public abstract IReadOnlyList<string> UrlParameterNames { get; }

    /// <summary>
    /// The name Orleans' ADO.NET providers know the driver by (for membership and reminders on
    /// the same database); null where they cannot use it (SQLite).
    /// </summary>
    public virtual string? AdoNetInvariant => null;

    public abstract DbDataSource CreateDataSource(SqlStoreSettings settings);

    /// <summary>
    /// The data source the store runs on. With <paramref name="history"/> on, SQLite's
    /// connections enforce foreign keys (its default is off per connection), so deleting a result
    /// deletes its history; the server databases always do, so this is the plain data source.
    /// </summary>
    public virtual DbDataSource CreateDataSource(SqlStoreSettings settings, bool history) => CreateDataSource(settings);

    /// <summary>The URL parameter that sets the TLS mode (sslmode, ssl_mode); null where no connection crosses a network (SQLite).</summary>
    public virtual string? SslModeParameter => null;

    /// <summary>The URL parameter that names the CA file (sslrootcert, ssl_ca); null as for <see cref="SslModeParameter"/>.</summary>
    public virtual string? RootCertificateParameter => null;

    /// <summary>The TLS mode that checks the certificate chain and the host name, for production (verify-full, verify_identity).</summary>
    public virtual string? VerifiedSslMode => null;

    /// <summary>The driver's TLS mode where none is set (prefer, preferred).</summary>
    public virtual string? DriverDefaultSslMode => null;

    /// <summary>The TLS modes <see cref="SslModeParameter"/> takes, weakest first; none for SQLite.</summary>
    public virtual IReadOnlyList<string> SslModes => [];

    /// <summary>
    /// How a connection with TLS mode <paramref name="mode"/> (null: not set, the driver's default)
    /// is protected in transit. SQLite: <see cref="TransportSecurity.Verified"/>, since a local
    /// file's reads and writes cross no network.
    /// </summary>
    public virtual TransportSecurity Security(string? mode) => TransportSecurity.Verified;

    /// <summary>
    /// Null when the options suit this database; otherwise what is wrong and what is allowed:
    /// the TLS mode, then the CA file (and on MySQL the isolation level and charset).
    /// </summary>
    public virtual string? Validate(BackendUrl url, SqlResultStoreOptions options) => SslModeProblem(options) ?? CertificateProblem(options);

    protected string? SslModeProblem(SqlResultStoreOptions options) =>
        options.SslMode is { } mode && SslModes.Count > 0 && !SslModes.Contains(mode)
            ? $"{DisplayName} {SslModeParameter} is '{mode}'; allowed: {string.Join(", ", SslModes)}."
            : null;

    // Checked for SQLite too: a CA file set in the options and missing is a mistake wherever it is.
    protected static string? CertificateProblem(SqlResultStoreOptions options) =>
        options.SslRootCert is { } ca && !File.Exists(ca) ? $"The SQL CA file '{ca}' (sslrootcert / ssl_ca) does not exist." : null;

    /// <summary>
    /// Statements run once when the store starts, before the schema (SQLite: write-ahead
    /// logging, which the database file keeps). None by default.
    /// </summary>
    public virtual IReadOnlyList<string> StartupStatements => [];

    /// <summary>
    /// True where the driver checks a pooled connection itself before reuse (MySqlConnector's
    /// ConnectionReset), so the store's own pre-ping round trip would be a second one.
    /// </summary>
    public virtual bool DriverPrePings => false;

    /// <summary>A query whose one value is the server's version.</summary>
    public abstract string ServerVersionQuery { get; }

    /// <summary>
    /// What <c>resultgrid doctor</c> should know of the server that only this database has,
    /// asked with <paramref name="scalar"/> (a query's first value as text, null for none). None by default.
    /// </summary>
    public virtual Task<IReadOnlyList<BackendFact>> DescribeServerAsync(Func<string, Task<string?>> scalar) =>
        Task.FromResult<IReadOnlyList<BackendFact>>([]);

    /// <summary>An identifier in the SQL standard's double quotes (MySQL uses backticks).</summary>
    public virtual string Quote(string identifier) => "\"" + identifier + "\"";

    public SqlTables Tables(SqlResultStoreOptions options)
    {
        string Qualify(string table) => options.Schema is { } schema && SupportsSchemas ? Quote(schema) + "." + Quote(table) : Quote(table);
        return new SqlTables(Qualify(options.TaskTable), Qualify(options.GroupTable), Qualify("resultgrid_schema"), Qualify(options.TaskTable + "_claims"), options.TaskTable, options.GroupTable, Qualify(options.TaskTable + "_history"));
    }

    protected virtual bool SupportsSchemas => false;

    // Column types.
    protected abstract string IdType { get; }
    protected abstract string ShortTextType { get; }
    protected abstract string LongTextType { get; }
    protected abstract string BlobType { get; }
    protected abstract string TimeType { get; }

    /// <summary>A 64-bit key the database numbers itself, ascending with each insert: the history's order.</summary>
    protected abstract string AutoIdType { get; }
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
        var historyIndexes = indexes.Where(i => i.Table == t.History).ToArray();

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
        // State history (IResultHistory), one row per applied write while history is on. The
        // foreign key's cascade removes a result's history wherever the result row is deleted
        // (forget, the expiry sweep, any tool), in the same statement, with no second DELETE to
        // keep in step; and always created, so turning history on needs no migration.
        statements.Add($"""
            CREATE TABLE IF NOT EXISTS {t.History} (
              entry_id {AutoIdType} PRIMARY KEY,
              task_id {IdType} NOT NULL,
              state {ShortTextType} NOT NULL,
              at {TimeType} NOT NULL,
              worker {ShortTextType} NULL,
              retries INTEGER NULL,
              reason {ShortTextType} NULL,
              FOREIGN KEY (task_id) REFERENCES {t.Tasks} (task_id) ON DELETE CASCADE{Inline(historyIndexes)}
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
            statements.AddRange(indexes.Select(i => CreateIndex(i, ifNotExists: true)));
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
        // A history is read, trimmed and cascaded by task id, in entry order.
        new(t.History, $"ix_{t.TaskTableName}_history_task_id", "task_id, entry_id", Cleanup: false),
    ];

    /// <summary>The DDL of one index, as the schema creates it and as doctor's advice spells it.</summary>
    public string CreateIndex(SqlIndex index, bool ifNotExists) =>
        $"CREATE INDEX {(ifNotExists ? "IF NOT EXISTS " : string.Empty)}{Quote(index.Name)} ON {index.Table} ({index.Columns})";

    /// <summary>Drops an index that exists (see <see cref="IndexNames"/>); an index lives in its table's schema.</summary>
    public virtual string DropIndex(SqlIndex index, SqlResultStoreOptions options) =>
        $"DROP INDEX {(options.Schema is { } schema && SupportsSchemas ? Quote(schema) + "." : string.Empty)}{Quote(index.Name)}";

    /// <summary>A query whose rows are the names of the indexes in the tables' schema (or database, or file).</summary>
    public abstract string IndexNames(SqlResultStoreOptions options);

    /// <summary>An index name as the database keeps it (PostgreSQL cuts identifiers at 63 bytes).</summary>
    public virtual string StoredName(string name) => name;

    /// <summary>
    /// Appends <paramref name="rows"/> history entries, parameters <c>@p0…</c> in
    /// <see cref="HistoryColumn.Names"/> order per row, in one multi-row INSERT (all three databases take it).
    /// </summary>
    public virtual string InsertHistory(SqlTables t, int rows) =>
        $"INSERT INTO {t.History} ({HistoryColumn.List}) VALUES {SqlParameters.ValuesList(rows, HistoryColumn.Count)}";

    /// <summary>
    /// Deletes, for every task of <paramref name="taskParameters"/> at once, its history beyond
    /// the newest <paramref name="keep"/> entries: one statement a batch, not one a task (a
    /// statement per task cost a third of the write rate). Each candidate row asks the task's
    /// index once for the cut (the entry <paramref name="keep"/> below the newest), so the cost is
    /// the batch's own rows, whatever the table holds. PostgreSQL and SQLite; MySQL refuses a
    /// subquery on the table it deletes from (<see cref="MySqlDialect"/>).
    /// </summary>
    public virtual string TrimHistory(SqlTables t, IEnumerable<string> taskParameters, int keep) =>
        $"DELETE FROM {t.History} WHERE task_id IN ({string.Join(", ", taskParameters)}) AND entry_id <= " +
        $"(SELECT h.entry_id FROM {t.History} h WHERE h.task_id = {t.History}.task_id ORDER BY h.entry_id DESC LIMIT 1 OFFSET {keep.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>
    /// A task's history <c>@p0</c>, oldest first, while its result is live at <c>@p1</c>: an
    /// expired result the sweep has not reached yet has no history either, as on Redis.
    /// </summary>
    public virtual string ReadHistory(SqlTables t) =>
        $"SELECT {HistoryColumn.ReadList} FROM {t.History} WHERE task_id = @p0 " +
        $"AND EXISTS (SELECT 1 FROM {t.Tasks} WHERE task_id = @p0 AND (expires_at IS NULL OR expires_at > @p1)) ORDER BY entry_id";

    /// <summary>Records the schema version once; a row already there is left alone.</summary>
    public virtual string InsertVersion(SqlTables t) =>
        $"INSERT INTO {t.Version} (table_name, version) VALUES (@p0, @p1) ON CONFLICT (table_name) DO NOTHING";

    // The statements below are in the standard form PostgreSQL and SQLite share: ON CONFLICT …
    // DO UPDATE … WHERE, which skips the update of a row that must stay, and RETURNING, which
    // names the rows written. MySQL, which has neither, overrides them.

    /// <summary>
    /// The batched upsert of <paramref name="rows"/> results, parameters <c>@p0…</c> in
    /// <see cref="TaskColumn.Names"/> order per row, that never replaces a stored SUCCESS, in one statement.
    /// </summary>
    public string UpsertTasks(SqlTables t, int rows) => UpsertTasks(t, rows, singleRetrieval: false);

    /// <summary>
    /// <see cref="UpsertTasks(SqlTables, int)"/>; with <paramref name="singleRetrieval"/>, a row
    /// holding an unexpired CONSUMED marker is kept like a SUCCESS (and, where the statement
    /// returns the kept rows, returned with them). Only single-retrieval stores use that form,
    /// so every other store's statement is exactly what it was.
    /// </summary>
    public virtual string UpsertTasks(SqlTables t, int rows, bool singleRetrieval) =>
        $"INSERT INTO {t.Tasks} AS cur ({TaskColumn.List}) VALUES {SqlParameters.ValuesList(rows, TaskColumn.Count)} " +
        $"ON CONFLICT (task_id) DO UPDATE SET {Excluded(TaskColumn.Names)} " +
        // An identical SUCCESS is this very write retried after its commit went unacknowledged: applied, not refused.
        // An expired SUCCESS no longer counts (the cleanup may not have run yet).
        (singleRetrieval
            ? $"WHERE (cur.state <> 'SUCCESS' AND cur.state <> '{TaskStates.Consumed}') OR cur.expires_at <= excluded.updated_at OR (cur.state = 'SUCCESS' AND excluded.state = 'SUCCESS' AND cur.payload = excluded.payload) "
            : "WHERE cur.state <> 'SUCCESS' OR cur.expires_at <= excluded.updated_at OR (excluded.state = 'SUCCESS' AND cur.payload = excluded.payload) ") +
        "RETURNING task_id";

    /// <summary>The READY states a single-retrieval consume takes, as a SQL list.</summary>
    protected static string ReadyStates => $"('{TaskStates.Success}', '{TaskStates.Failure}', '{TaskStates.Revoked}')";

    /// <summary>
    /// Single retrieval in one statement, where the database can return the row as it was before
    /// an UPDATE: the READY, unexpired row <c>@p0</c> (judged at <c>@p1</c>) becomes the CONSUMED
    /// marker, and the statement returns its old columns in <see cref="TaskColumn.List"/> order.
    /// Null where it cannot (then <see cref="SelectForConsume"/> and <see cref="MarkConsumed"/>
    /// run in one transaction).
    /// </summary>
    public virtual string? ConsumeTask(SqlTables t) => null;

    /// <summary>
    /// The row <c>@p0</c>, read so that no other consumer can take it before this transaction
    /// ends: FOR UPDATE on a server; SQLite's transaction (BEGIN IMMEDIATE) already holds the
    /// database's one write lock.
    /// </summary>
    public virtual string SelectForConsume(SqlTables t) =>
        $"SELECT {TaskColumn.List} FROM {t.Tasks} WHERE task_id = @p0 AND state IN {ReadyStates} AND (expires_at IS NULL OR expires_at > @p1)";

    /// <summary>
    /// The assignments of the CONSUMED marker written over row <c>@p0</c> at <c>@p1</c>: the state, with the result,
    /// its arguments and traceback cleared (nothing of it is handed out again) and expires_at kept,
    /// so that the marker goes when the result would have gone, by the same sweep.
    /// </summary>
    public static string MarkConsumed =>
        $"SET state = '{TaskStates.Consumed}', " + string.Join(", ", ConsumedColumns.Select(c => $"{c} = NULL")) + ", updated_at = @p1";

    /// <summary>The columns a CONSUMED marker clears: everything the result carried.</summary>
    private static readonly string[] ConsumedColumns =
    [
        "payload", "content_type", "content_encoding", "traceback", "args", "args_content_type", "args_content_encoding",
        "kwargs", "kwargs_content_type", "kwargs_content_encoding", "children",
    ];

    /// <summary>
    /// True when <see cref="UpsertTasks(SqlTables, int)"/> returns the ids it applied (RETURNING). False when it
    /// returns, instead, the stored rows of the batch's ids that hold SUCCESS (MySQL, which has
    /// no RETURNING), from which the store tells which writes were refused.
    /// </summary>
    public virtual bool UpsertReturnsApplied => true;

    /// <summary>
    /// True: a batch is one multi-row statement. False (SQLite): a batch is one transaction of
    /// single-row statements, since SQLite binds each of thousands of parameters by a linear
    /// search of their names and a prepared one-row statement rebound per row is far cheaper.
    /// </summary>
    public virtual bool MultiRowUpserts => true;

    /// <summary>Saves one group, <c>@p0…@p4</c> in <see cref="GroupColumn.Names"/> order, replacing a saved one.</summary>
    public virtual string UpsertGroup(SqlTables t) =>
        $"INSERT INTO {t.Groups} ({GroupColumn.List}) VALUES {GroupColumn.Values} ON CONFLICT (group_id) DO UPDATE SET {Excluded(GroupColumn.Names)}";

    /// <summary>
    /// Takes the claim <c>@p0</c> at <c>@p1</c> until <c>@p2</c> if nobody holds it (or the holder's
    /// claim expired). Its scalar is non-null and non-zero exactly when this call took it.
    /// </summary>
    public virtual string Claim(SqlTables t) =>
        $"INSERT INTO {t.Claims} AS cur (claim_key, claimed_at, expires_at) VALUES (@p0, @p1, @p2) " +
        "ON CONFLICT (claim_key) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at " +
        "WHERE cur.expires_at <= excluded.claimed_at RETURNING claim_key";

    /// <summary>
    /// The bulk import of <paramref name="rows"/> results for a migration (parameters as in
    /// <see cref="UpsertTasks(SqlTables, int)"/>): a row goes in where no live row holds its id (none, or an
    /// expired one the sweep has not removed yet); a live row is left as it is. Its first result
    /// set tells what happened: the ids added where <see cref="UpsertReturnsApplied"/>, otherwise
    /// one count of the batch's ids that were already live.
    /// </summary>
    public virtual string ImportTasks(SqlTables t, int rows) =>
        $"INSERT INTO {t.Tasks} AS cur ({TaskColumn.List}) VALUES {SqlParameters.ValuesList(rows, TaskColumn.Count)} {ImportConflict}";

    /// <summary>An import's rule where the id is taken: replace only an expired row; name the rows added.</summary>
    protected static string ImportConflict =>
        $"ON CONFLICT (task_id) DO UPDATE SET {Excluded(TaskColumn.Names)} WHERE cur.expires_at <= excluded.updated_at RETURNING task_id";

    /// <summary>
    /// One group for a migration, <c>@p0…@p4</c> as in <see cref="UpsertGroup"/> and the time now
    /// in <c>@p5</c> (<see cref="GroupImportTime"/>); a live saved group is left as it is. First
    /// result as in <see cref="ImportTasks"/>.
    /// </summary>
    public virtual string ImportGroup(SqlTables t) =>
        $"INSERT INTO {t.Groups} AS cur ({GroupColumn.List}) VALUES {GroupColumn.Values} ON CONFLICT (group_id) DO UPDATE SET {Excluded(GroupColumn.Names)} " +
        $"WHERE cur.expires_at <= {GroupImportTime} RETURNING group_id";

    /// <summary>The time now in a group import: the parameter after the group's own columns.</summary>
    protected static string GroupImportTime => SqlParameters.Name(GroupColumn.Count);

    /// <summary>Every column but the key (the first) set to the conflicting row's new value.</summary>
    private static string Excluded(IEnumerable<string> columns) => string.Join(", ", columns.Skip(1).Select(c => $"{c} = excluded.{c}"));

    /// <summary>
    /// Deletes at most <paramref name="limit"/> rows of <paramref name="table"/> whose
    /// <c>expires_at</c> is at or before <c>@p0</c>, found through the expires_at index.
    /// </summary>
    public virtual string DeleteExpired(string table, string key, int limit) =>
        $"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at <= @p0 LIMIT {limit.ToString(CultureInfo.InvariantCulture)})";

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

    /// <summary>
    /// A wrong password, an unknown user or a missing database: an error that will not pass on
    /// a second try, so the start-up's DDL does not try again. None by default.
    /// </summary>
    public virtual bool IsAccessProblem(DbException exception) => false;

    /// <summary>Drops the pool's idle connections, which a restarted server has closed.</summary>
    public abstract void ClearPool(DbConnection connection);

    /// <summary>A timeout as the drivers take it: whole seconds, at least one.</summary>
    protected static int Seconds(TimeSpan value) => Math.Max(1, (int)Math.Ceiling(value.TotalSeconds));

    /// <summary>
    /// True where the driver has a bulk path for a migration's import (<see cref="BulkImportAsync"/>)
    /// that binds no parameters, so an import chunk is bounded by bytes alone.
    /// </summary>
    public virtual bool HasBulkImport => false;

    /// <summary>
    /// Imports <paramref name="chunk"/> (live results, one per id) by the rule of
    /// <see cref="ImportTasks"/> through the driver's bulk path, on <paramref name="connection"/>,
    /// with <paramref name="now"/> as every row's updated_at; returns how many rows it added.
    /// Only where <see cref="HasBulkImport"/>.
    /// </summary>
    public virtual Task<int> BulkImportAsync(DbConnection connection, SqlTables t, IReadOnlyList<TaskResult> chunk, DateTime now, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"The {DisplayName} driver has no bulk import here; use the multi-row import statement.");

    public static SqlDialect For(SqlStoreSettings settings) => For(settings.Kind, settings.Options);

    /// <summary>The dialect of <paramref name="kind"/> with <paramref name="options"/> merged from the URL.</summary>
    public static SqlDialect For(SqlDatabaseKind kind, SqlResultStoreOptions options) => kind switch
    {
        SqlDatabaseKind.PostgreSql => new PostgreSqlDialect(),
        SqlDatabaseKind.MySql => new MySqlDialect(options.MySqlIsolationLevel),
        _ => new SqliteDialect(),
    };
}
