using System.Data.Common;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// A <c>db+postgresql://</c> or <c>db+mysql://</c> URL as an ADO.NET data source, with the same
/// pool, timeout, TLS and credential settings the result store uses, for other components on the
/// same database: Orleans' ADO.NET membership and reminders (ResultGrid.Clustering.Sql, the silo
/// host) and tools that read the tables themselves.
/// </summary>
public static class SqlConnections
{
    /// <summary>
    /// The data source, the name Orleans' ADO.NET providers know the driver by (<c>Npgsql</c>,
    /// <c>MySql.Data.MySqlConnector</c>), and where it points (never the password).
    /// </summary>
    /// <remarks>The caller owns the data source and disposes of it, which closes its pooled connections.</remarks>
    /// <exception cref="ArgumentException">The URL is not a usable PostgreSQL or MySQL URL (SQLite included: Orleans cannot use it); the message says why.</exception>
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
        var dialect = SqlDialect.For(settings);
        var invariant = dialect.AdoNetInvariant ?? throw new ArgumentException(
            $"'{parsed.Redacted}' is {dialect.DisplayName}, which Orleans' ADO.NET membership cannot use: give a db+postgresql:// or db+mysql:// URL, or cluster through redis or localhost.", nameof(url));
        return (dialect.CreateDataSource(settings), invariant, settings.Display);
    }
}
