using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace ResultGrid.Storage.Sql;

/// <summary>PostgreSQL through Npgsql.</summary>
internal sealed class PostgreSqlDialect : SqlDialect
{
    public override string Name => "postgresql";
    protected override bool SupportsSchemas => true;
    protected override string IdType => "VARCHAR(255)";
    protected override string ShortTextType => "VARCHAR(255)";
    protected override string LongTextType => "TEXT";
    protected override string BlobType => "BYTEA";
    protected override string TimeType => "TIMESTAMPTZ";

    public override string Quote(string identifier) => "\"" + identifier + "\"";

    public override DbDataSource CreateDataSource(SqlStoreSettings settings)
    {
        var o = settings.Options;
        var builder = new NpgsqlDataSourceBuilder
        {
            ConnectionStringBuilder =
            {
                Host = settings.Host,
                Port = settings.Port ?? 5432,
                Database = settings.Database,
                Username = settings.User,
                Password = settings.Password,
                ApplicationName = settings.ApplicationName,
                MinPoolSize = o.MinPoolSize,
                MaxPoolSize = o.MaxPoolSize,
                ConnectionLifetime = (int)o.ConnectionLifetime.TotalSeconds,
                Timeout = Math.Max(1, (int)Math.Ceiling(o.ConnectTimeout.TotalSeconds)),
                CommandTimeout = Math.Max(1, (int)Math.Ceiling(o.CommandTimeout.TotalSeconds)),
                // The store sends the same few statements again and again: let Npgsql prepare them.
                MaxAutoPrepare = 64,
                AutoPrepareMinUsages = 2,
            },
        };
        if (o.SslMode is { } mode)
        {
            builder.ConnectionStringBuilder.SslMode = mode switch
            {
                "disable" => SslMode.Disable,
                "allow" => SslMode.Allow,
                "prefer" => SslMode.Prefer,
                "require" => SslMode.Require,
                "verify-ca" => SslMode.VerifyCA,
                _ => SslMode.VerifyFull,
            };
        }

        if (o.SslRootCert is { } ca)
        {
            builder.ConnectionStringBuilder.RootCertificate = ca;
        }

        return builder.Build();
    }

    public override string InsertVersion(SqlTables t) =>
        $"INSERT INTO {t.Version} (table_name, version) VALUES (@p0, @p1) ON CONFLICT (table_name) DO NOTHING";

    // The schema name is a validated identifier, so it can be written into the text.
    public override string IndexNames(SqlResultStoreOptions options) =>
        $"SELECT indexname FROM pg_indexes WHERE schemaname = {(options.Schema is { } schema ? $"'{schema}'" : "current_schema()")}";

    public override string StoredName(string name) => name.Length > 63 ? name[..63] : name;

    public override string UpsertTasks(SqlTables t, int rows) => OnConflictUpsert(t, rows);

    public override bool UpsertReturnsApplied => true;

    public override string UpsertGroup(SqlTables t) => OnConflictGroupUpsert(t);

    public override string Claim(SqlTables t) => OnConflictClaim(t);

    /// <summary>
    /// The staging table of a migration's COPY import: the results table's columns, no indexes,
    /// local to the session and emptied at each commit.
    /// </summary>
    public static string CreateImportStaging(SqlTables t) =>
        $"CREATE TEMP TABLE IF NOT EXISTS resultgrid_import (LIKE {t.Tasks}) ON COMMIT DELETE ROWS";

    public static string CopyIntoImportStaging => $"COPY resultgrid_import ({ColumnList}) FROM STDIN (FORMAT BINARY)";

    /// <summary>The staged rows into the results table, by the rule of <see cref="SqlDialect.ImportTasks"/>; returns the ids added.</summary>
    public static string ImportFromStaging(SqlTables t) =>
        $"INSERT INTO {t.Tasks} AS cur ({ColumnList}) SELECT {ColumnList} FROM resultgrid_import {ImportConflict}";

    protected override bool IsDriverTransient(Exception exception) => exception switch
    {
        // 08: connection exceptions; 57P01-57P03: the server shutting down or starting up;
        // 53300: too many connections; 40001/40P01: serialization failure, deadlock.
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300" or "40001" or "40P01",
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException,
        _ => false,
    };

    public override void ClearPool(DbConnection connection) => NpgsqlConnection.ClearPool((NpgsqlConnection)connection);
}
