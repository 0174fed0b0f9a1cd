using System.Text.RegularExpressions;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// A parsed <c>db+…://</c> URL (SQLAlchemy's form, as Celery's <c>result_backend</c> takes it)
/// merged with <see cref="SqlResultStoreOptions"/>. <see cref="Create"/> parses;
/// <see cref="Validate"/> also applies the rules (ranges, names, and the dialect's own: TLS
/// modes, MySQL's isolation and charset). Outside this assembly, <see cref="SqlBackendInspection"/> describes it.
/// </summary>
internal sealed partial class SqlStoreSettings
{
    /// <summary>Every scheme served: SQLAlchemy's driver suffixes are accepted and ignored, since the .NET driver is fixed per database.</summary>
    public static readonly IReadOnlyDictionary<string, SqlDatabaseKind> Schemes = new Dictionary<string, SqlDatabaseKind>(StringComparer.OrdinalIgnoreCase)
    {
        ["db+postgresql"] = SqlDatabaseKind.PostgreSql,
        ["db+postgres"] = SqlDatabaseKind.PostgreSql,
        ["db+postgresql+psycopg2"] = SqlDatabaseKind.PostgreSql,
        ["db+postgresql+psycopg"] = SqlDatabaseKind.PostgreSql,
        ["db+postgresql+asyncpg"] = SqlDatabaseKind.PostgreSql,
        ["db+postgresql+pg8000"] = SqlDatabaseKind.PostgreSql,
        ["db+mysql"] = SqlDatabaseKind.MySql,
        ["db+mysql+pymysql"] = SqlDatabaseKind.MySql,
        ["db+mysql+mysqldb"] = SqlDatabaseKind.MySql,
        ["db+mysql+mysqlconnector"] = SqlDatabaseKind.MySql,
        ["db+mariadb"] = SqlDatabaseKind.MySql,
        ["db+mariadb+pymysql"] = SqlDatabaseKind.MySql,
        ["db+mariadb+mariadbconnector"] = SqlDatabaseKind.MySql,
        ["db+sqlite"] = SqlDatabaseKind.Sqlite,
    };

    /// <summary>The URL parameters of every database; each dialect's <see cref="SqlDialect.UrlParameterNames"/> adds its own.</summary>
    public static readonly string[] CommonParameters =
    [
        "command_timeout", "batch_window_ms", "batch_size", "writers", "task_table", "group_table", "create_tables", "single_retrieval",
    ];

    /// <summary>The pool's URL parameters, for a database with a server.</summary>
    public static readonly string[] ServerParameters =
    [
        "min_pool_size", "max_pool_size", "pool_recycle", "pool_pre_ping", "connect_timeout",
    ];

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex Identifier();

    private SqlStoreSettings(SqlDatabaseKind kind, SqlResultStoreOptions merged, string redactedUrl, string display)
    {
        Kind = kind;
        Options = merged;
        RedactedUrl = redactedUrl;
        Display = display;
    }

    /// <summary>The database the scheme names; <see cref="SqlDialect.For(SqlStoreSettings)"/> turns it into the dialect.</summary>
    public SqlDatabaseKind Kind { get; }

    /// <summary>The options with the URL's parameters applied.</summary>
    public SqlResultStoreOptions Options { get; }

    public string RedactedUrl { get; }

    /// <summary>The server; for a PostgreSQL Unix socket (<c>?host=/dir</c>) the socket's directory. Null for SQLite.</summary>
    public string? Host { get; private init; }
    public int? Port { get; private init; }
    public string? Database { get; private init; }
    public string? User { get; private init; }
    public string? Password { get; private init; }

    /// <summary>SQLite: the database file, absolute.</summary>
    public string? FilePath { get; private init; }

    public string? ApplicationName { get; private init; }

    /// <summary>Where the store is, for messages and logs: host, port and database, or the SQLite file. Never the password.</summary>
    public string Display { get; }

    /// <summary>Null when the URL and options are usable; otherwise what is wrong and what is allowed.</summary>
    public static string? Validate(BackendUrl url, SqlResultStoreOptions options)
    {
        try
        {
            var settings = Create(url, options);
            var o = settings.Options;
            var dialect = SqlDialect.For(settings);
            if (UrlParameters.Unknown(url, dialect.UrlParameterNames) is { } unknown)
            {
                return unknown;
            }

            foreach (var (name, table) in new[] { ("task_table", o.TaskTable), ("group_table", o.GroupTable) })
            {
                if (!Identifier().IsMatch(table))
                {
                    return $"The SQL {name} '{table}' is not a usable table name: letters, digits and '_', starting with a letter or '_', at most 63 characters.";
                }
            }

            if (o.TaskTable.Equals(o.GroupTable, StringComparison.OrdinalIgnoreCase))
            {
                return $"The SQL task_table and group_table are both '{o.TaskTable}'; they must differ.";
            }

            if (o.Schema is { } schema && !Identifier().IsMatch(schema))
            {
                return $"The SQL schema '{schema}' is not a usable schema name: letters, digits and '_', starting with a letter or '_'.";
            }

            if (o.MinPoolSize < 0 || o.MaxPoolSize is < 1 or > 1000 || o.MinPoolSize > o.MaxPoolSize)
            {
                return $"SQL pool sizes are min {o.MinPoolSize}, max {o.MaxPoolSize}; max must be from 1 to 1000 and min from 0 to max.";
            }

            foreach (var (name, value, zeroAllowed) in new[] { ("connect_timeout", o.ConnectTimeout, false), ("command_timeout", o.CommandTimeout, false), ("pool_recycle", o.ConnectionLifetime, true) })
            {
                if ((zeroAllowed ? value < TimeSpan.Zero : value <= TimeSpan.Zero) || value > TimeSpan.FromDays(1))
                {
                    return $"SQL {name} is {value.TotalSeconds} s; it must be {(zeroAllowed ? "0 or more" : "more than 0")} and at most one day.";
                }
            }

            if (o.BatchWindow < TimeSpan.Zero || o.BatchWindow > TimeSpan.FromSeconds(1))
            {
                return $"SQL batch_window_ms is {o.BatchWindow.TotalMilliseconds}; it must be from 0 to 1000 milliseconds.";
            }

            if (o.MaxBatchSize is < 1 or > SqlParameters.MaxBatchRows)
            {
                return $"SQL batch_size is {o.MaxBatchSize}; it must be from 1 to {SqlParameters.MaxBatchRows}.";
            }

            if (o.MaxBatchBytes < 1024)
            {
                return $"SQL MaxBatchBytes is {o.MaxBatchBytes}; it must be at least 1024.";
            }

            if (o.Writers is < 1 or > 64)
            {
                return $"SQL writers is {o.Writers}; it must be from 1 to 64.";
            }

            return dialect.Validate(url, o) ?? o.Retry.Validate($"{SqlResultStoreOptions.SectionName}:Retry");
        }
        catch (FormatException ex)
        {
            return $"The backend URL '{url.Redacted}': {ex.Message}";
        }
    }

    /// <summary>Parses the URL and merges it with the options; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static SqlStoreSettings Create(BackendUrl url, SqlResultStoreOptions options)
    {
        if (!Schemes.TryGetValue(url.Scheme, out var kind))
        {
            throw new FormatException($"scheme {url.Scheme}:// is not a SQL backend; use one of {string.Join(", ", Schemes.Keys.Select(s => s + "://"))}.");
        }

        var merged = Merge(url, options);
        var dialect = SqlDialect.For(kind, merged);
        var rest = url.Rest;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        var beforeQuery = q < 0 ? rest : rest[..q];
        if (dialect.DefaultPort is not { } defaultPort)
        {
            // No server, so no host: the URL names a file.
            var path = SqlitePath(beforeQuery);
            return new SqlStoreSettings(kind, merged, url.Redacted, $"{dialect.Name} file {path}") { FilePath = path };
        }

        var slash = beforeQuery.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? beforeQuery : beforeQuery[..slash];
        var database = slash < 0 ? string.Empty : Uri.UnescapeDataString(beforeQuery[(slash + 1)..]);
        if (database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            throw new FormatException($"{url.Scheme}:// needs one database name after the host, e.g. {url.Scheme}://user@host:port/resultgrid.");
        }

        string? user = null, password = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        }

        var (host, port) = HostAndPort(authority, url.Scheme);
        if (url.Query.TryGetValue("host", out var socketDir))
        {
            // SQLAlchemy's way to name a Unix socket directory for PostgreSQL.
            host = socketDir;
        }

        if (string.IsNullOrEmpty(host))
        {
            throw new FormatException($"{url.Scheme}:// needs a host, e.g. {url.Scheme}://user@db.example.com:{defaultPort}/resultgrid.");
        }

        return new SqlStoreSettings(kind, merged, url.Redacted, $"{dialect.Name} database '{database}' on {host}{(port is { } p ? ":" + p : string.Empty)}")
        {
            Host = host,
            Port = port,
            Database = database,
            User = string.IsNullOrEmpty(user) ? merged.User : user,
            Password = string.IsNullOrEmpty(password) ? merged.Password : password,
            ApplicationName = url.Query.TryGetValue("application_name", out var app) ? app : "resultgrid",
        };
    }

    private static (string Host, int? Port) HostAndPort(string authority, string scheme)
    {
        string host;
        string? portText = null;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"the IPv6 host in {scheme}://{authority} has no closing ']'.");
            }

            host = authority[1..close];
            if (close + 1 < authority.Length)
            {
                portText = authority[(close + 1)..].TrimStart(':');
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? null : authority[(colon + 1)..];
        }

        if (portText is null || portText.Length == 0)
        {
            return (host, null);
        }

        return int.TryParse(portText, out var port) && port is > 0 and < 65536
            ? (host, port)
            : throw new FormatException($"the port '{portText}' is not a port number from 1 to 65535.");
    }

    /// <summary>
    /// SQLAlchemy's rule: <c>db+sqlite:///relative/x.db</c> (three slashes) is relative to the
    /// working directory, <c>db+sqlite:////abs/x.db</c> (four) is absolute.
    /// </summary>
    private static string SqlitePath(string afterScheme)
    {
        if (!afterScheme.StartsWith('/'))
        {
            throw new FormatException($"db+sqlite:// takes a file path after a third slash: db+sqlite:///data/results.db (relative) or db+sqlite:////var/lib/resultgrid/results.db (absolute); got '{afterScheme}'.");
        }

        var path = Uri.UnescapeDataString(afterScheme[1..]);
        if (path.Length == 0 || path == ":memory:" || path.StartsWith("file::memory:", StringComparison.Ordinal))
        {
            throw new FormatException("db+sqlite:// needs a file: an in-memory SQLite database is private to one connection and gone with it. Use memory:// for results kept in memory, or a path such as db+sqlite:///data/results.db.");
        }

        if (path.EndsWith('/'))
        {
            throw new FormatException($"db+sqlite:// path '{path}' names a directory; give a file such as {path}results.db.");
        }

        return Path.GetFullPath(path);
    }

    private static SqlResultStoreOptions Merge(BackendUrl url, SqlResultStoreOptions options)
    {
        var q = url.Query;
        return new SqlResultStoreOptions
        {
            Password = options.Password,
            User = options.User,
            CreateTables = q.TryGetValue("create_tables", out var ct) ? UrlParameters.Flag(ct, "create_tables") : options.CreateTables,
            SingleRetrieval = q.TryGetValue("single_retrieval", out var sr) ? UrlParameters.Flag(sr, "single_retrieval") : options.SingleRetrieval,
            Schema = q.TryGetValue("schema", out var schema) ? schema : options.Schema,
            TaskTable = q.TryGetValue("task_table", out var tt) ? tt : options.TaskTable,
            GroupTable = q.TryGetValue("group_table", out var gt) ? gt : options.GroupTable,
            MinPoolSize = q.TryGetValue("min_pool_size", out var minp) ? UrlParameters.WholeNumber(minp, "min_pool_size") : options.MinPoolSize,
            MaxPoolSize = q.TryGetValue("max_pool_size", out var maxp) ? UrlParameters.WholeNumber(maxp, "max_pool_size") : options.MaxPoolSize,
            ConnectionLifetime = q.TryGetValue("pool_recycle", out var pr) ? UrlParameters.Seconds(pr, "pool_recycle") : options.ConnectionLifetime,
            PrePing = q.TryGetValue("pool_pre_ping", out var pp) ? UrlParameters.Flag(pp, "pool_pre_ping") : options.PrePing,
            ConnectTimeout = q.TryGetValue("connect_timeout", out var cto) ? UrlParameters.Seconds(cto, "connect_timeout") : options.ConnectTimeout,
            CommandTimeout = q.TryGetValue("command_timeout", out var cmd) ? UrlParameters.Seconds(cmd, "command_timeout") : options.CommandTimeout,
            MySqlIsolationLevel = (q.TryGetValue("isolation_level", out var il) ? il : options.MySqlIsolationLevel).Replace('_', ' ').ToUpperInvariant(),
            SslMode = (q.TryGetValue("sslmode", out var sm) ? sm : q.TryGetValue("ssl_mode", out var msm) ? msm : options.SslMode)?.ToLowerInvariant(),
            SslRootCert = q.TryGetValue("sslrootcert", out var rc) ? rc : q.TryGetValue("ssl_ca", out var mca) ? mca : options.SslRootCert,
            BatchWindow = q.TryGetValue("batch_window_ms", out var bw) ? UrlParameters.Milliseconds(bw, "batch_window_ms") : options.BatchWindow,
            MaxBatchSize = q.TryGetValue("batch_size", out var bs) ? UrlParameters.WholeNumber(bs, "batch_size") : options.MaxBatchSize,
            MaxBatchBytes = options.MaxBatchBytes,
            Writers = q.TryGetValue("writers", out var w) ? UrlParameters.WholeNumber(w, "writers") : options.Writers,
            Retry = options.Retry,
        };
    }
}
