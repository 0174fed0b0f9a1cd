using System.Data.Common;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// A <c>db+postgresql://</c> or <c>db+mysql://</c> URL as an ADO.NET data source, with the same
/// pool, timeout, TLS and credential settings the result store uses, for other components on the
/// same database (Orleans' ADO.NET membership and reminders).
/// </summary>
public static class SqlConnections
{
    /// <summary>
    /// The data source, the name Orleans' ADO.NET providers know the driver by (<c>Npgsql</c>,
    /// <c>MySql.Data.MySqlConnector</c>), and where it points (never the password).
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not a usable PostgreSQL or MySQL URL; the message says why.</exception>
    public static (DbDataSource DataSource, string Invariant, string Display) Create(string url, SqlResultStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!BackendUrl.TryParse(url, out var parsed, out var error))
        {
            throw new ArgumentException(error, nameof(url));
        }

        if (SqlStoreSettings.Validate(parsed, options) is { } problem)
        {
            throw new ArgumentException(problem, nameof(url));
        }

        var settings = SqlStoreSettings.Create(parsed, options);
        var invariant = settings.Kind switch
        {
            SqlDatabaseKind.PostgreSql => "Npgsql",
            SqlDatabaseKind.MySql => "MySql.Data.MySqlConnector",
            _ => throw new ArgumentException(
                $"'{parsed.Redacted}' is SQLite, which Orleans' ADO.NET membership cannot use: give a db+postgresql:// or db+mysql:// URL, or cluster through redis or localhost.", nameof(url)),
        };
        return (SqlDialect.For(settings).CreateDataSource(settings), invariant, settings.Display);
    }
}
