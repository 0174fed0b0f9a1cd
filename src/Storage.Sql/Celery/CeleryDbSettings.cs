using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// A <c>celery+db+…://</c> URL: Celery's own <c>db+…://</c> result_backend URL behind a
/// <c>celery+</c> prefix, with <c>?task_table=</c> and <c>?group_table=</c> for Celery's
/// database_table_names (defaults celery_taskmeta and celery_tasksetmeta, Celery 5.2's table
/// names), <c>?schema=</c>, and <c>?result_expires=SECONDS</c> (Celery's default 86400; 0: never).
/// The connection part is parsed as the SQL store parses its own URL, so both mean the same.
/// </summary>
internal sealed class CeleryDbSettings
{
    public const string Prefix = "celery+";
    public const string DefaultTaskTable = "celery_taskmeta";
    public const string DefaultGroupTable = "celery_tasksetmeta";

    /// <summary>Celery's result_expires default: one day.</summary>
    public static readonly TimeSpan DefaultResultExpires = TimeSpan.FromDays(1);

    // The SQL store's write-side parameters, which a read-only source has no use for.
    private static readonly string[] WriteParameters = ["create_tables", "batch_window_ms", "batch_size", "writers"];

    private readonly SqlStoreSettings _sql;
    private readonly SqlDialect _dialect;

    private CeleryDbSettings(SqlStoreSettings sql, TimeSpan resultExpires)
    {
        _sql = sql;
        _dialect = SqlDialect.For(sql);
        ResultExpires = resultExpires;
        var tables = _dialect.Tables(sql.Options);
        TaskTable = tables.Tasks;
        GroupTable = tables.Groups;
    }

    /// <summary>Every scheme: celery+ and each of the SQL store's db+ schemes.</summary>
    public static IReadOnlyCollection<string> Schemes { get; } = SqlStoreSettings.Schemes.Keys.Select(s => Prefix + s).ToArray();

    /// <summary>How long after date_done Celery's backend_cleanup deletes a row; zero: never.</summary>
    public TimeSpan ResultExpires { get; }

    /// <summary>The quoted, schema-qualified tables, for SQL text.</summary>
    public string TaskTable { get; }
    public string GroupTable { get; }

    public string TaskTableName => _sql.Options.TaskTable;
    public string GroupTableName => _sql.Options.GroupTable;

    /// <summary>SQLite: the database file.</summary>
    public string? FilePath => _sql.FilePath;

    public string Display => "Celery's tables in " + _sql.Display;

    /// <summary>The settings, or <see cref="FormatException"/> saying what is wrong and what is allowed.</summary>
    public static CeleryDbSettings Parse(BackendUrl url, SqlResultStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        if (!url.Scheme.StartsWith(Prefix, StringComparison.Ordinal) || !SqlStoreSettings.Schemes.ContainsKey(url.Scheme[Prefix.Length..]))
        {
            throw new FormatException($"The backend URL '{url.Redacted}' is not a Celery database URL; use celery+ before Celery's own URL: {string.Join(", ", Schemes.Take(3).Select(s => s + "://"))}, ….");
        }

        if (WriteParameters.FirstOrDefault(url.Query.ContainsKey) is { } write)
        {
            throw new FormatException($"The backend URL '{url.Redacted}' has the parameter '{write}', which only a store written to takes; a celery+db+ source is only read (parameters: task_table, group_table, schema, result_expires, and the connection's own).");
        }

        var expires = DefaultResultExpires;
        if (url.Query.TryGetValue("result_expires", out var text))
        {
            expires = UrlParameters.Seconds(text, "result_expires");
            if (expires < TimeSpan.Zero || expires > TimeSpan.FromDays(36500))
            {
                throw new FormatException($"result_expires={text} must be a number of seconds from 0 (never expire, as Celery's 0 or None) to 100 years.");
            }
        }

        // The same URL without the prefix and our own parameter is Celery's db+ URL.
        var inner = url.WithScheme(url.Scheme[Prefix.Length..], "result_expires");
        var defaults = new SqlResultStoreOptions
        {
            User = options.User,
            Password = options.Password,
            SslMode = options.SslMode,
            SslRootCert = options.SslRootCert,
            ConnectTimeout = options.ConnectTimeout,
            CommandTimeout = options.CommandTimeout,
            Retry = options.Retry,
            TaskTable = DefaultTaskTable,
            GroupTable = DefaultGroupTable,
            CreateTables = false,
            MaxPoolSize = 4,
        };
        if (SqlStoreSettings.Validate(inner, defaults) is { } problem)
        {
            throw new FormatException(problem.Replace(inner.Redacted, url.Redacted, StringComparison.Ordinal));
        }

        return new CeleryDbSettings(SqlStoreSettings.Create(inner, defaults), expires);
    }

    /// <summary>The connections: the SQL store's for a server; for SQLite, the file opened read-only, so that nothing is ever created or written.</summary>
    public DbDataSource CreateDataSource()
    {
        if (_sql.FilePath is not { } file)
        {
            return _dialect.CreateDataSource(_sql);
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = file,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(_sql.Options.CommandTimeout.TotalSeconds),
        };
        return SqliteFactory.Instance.CreateDataSource(builder.ConnectionString);
    }
}
