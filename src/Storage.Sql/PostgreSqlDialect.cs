using System.Data.Common;
using System.Net.Sockets;
using Npgsql;
using NpgsqlTypes;

namespace ResultGrid.Storage.Sql;

/// <summary>PostgreSQL through Npgsql.</summary>
internal sealed class PostgreSqlDialect() : ServerSqlDialect<SslMode>(
    sslModeParameter: "sslmode",
    rootCertificateParameter: "sslrootcert",
    driverDefaultSslMode: "prefer",
    tlsModes:
    [
        ("disable", SslMode.Disable, TransportSecurity.None),
        ("allow", SslMode.Allow, TransportSecurity.None),
        ("prefer", SslMode.Prefer, TransportSecurity.None),
        ("require", SslMode.Require, TransportSecurity.Unverified),
        ("verify-ca", SslMode.VerifyCA, TransportSecurity.Verified),
        ("verify-full", SslMode.VerifyFull, TransportSecurity.Verified),
    ],
    // host: a Unix socket's directory, SQLAlchemy's way.
    ownParameters: ["host", "schema", "application_name"])
{
    private const int StandardPort = 5432;

    public override string Name => "postgresql";
    public override string DisplayName => "PostgreSQL";
    public override int? DefaultPort => StandardPort;
    public override string? AdoNetInvariant => "Npgsql";

    protected override bool SupportsSchemas => true;
    protected override string IdType => "VARCHAR(255)";
    protected override string ShortTextType => "VARCHAR(255)";
    protected override string LongTextType => "TEXT";
    protected override string BlobType => "BYTEA";
    protected override string TimeType => "TIMESTAMPTZ";

    public override DbDataSource CreateDataSource(SqlStoreSettings settings)
    {
        var o = settings.Options;
        var builder = new NpgsqlDataSourceBuilder
        {
            ConnectionStringBuilder =
            {
                Host = settings.Host,
                Port = settings.Port ?? StandardPort,
                Database = settings.Database,
                Username = settings.User,
                Password = settings.Password,
                ApplicationName = settings.ApplicationName,
                MinPoolSize = o.MinPoolSize,
                MaxPoolSize = o.MaxPoolSize,
                ConnectionLifetime = (int)o.ConnectionLifetime.TotalSeconds,
                Timeout = Seconds(o.ConnectTimeout),
                CommandTimeout = Seconds(o.CommandTimeout),
                // The store sends the same few statements again and again: let Npgsql prepare them.
                MaxAutoPrepare = 64,
                AutoPrepareMinUsages = 2,
            },
        };
        if (o.SslMode is { } mode)
        {
            builder.ConnectionStringBuilder.SslMode = DriverMode(mode);
        }

        if (o.SslRootCert is { } ca)
        {
            builder.ConnectionStringBuilder.RootCertificate = ca;
        }

        return builder.Build();
    }

    public override string ServerVersionQuery => "SELECT version()";

    // 28P01: wrong password; 28000: no such role or not allowed in; 3D000: no such database.
    public override bool IsAccessProblem(DbException exception) => exception.SqlState is "28P01" or "28000" or "3D000";

    // The schema name is a validated identifier, so it can be written into the text.
    public override string IndexNames(SqlResultStoreOptions options) =>
        $"SELECT indexname FROM pg_indexes WHERE schemaname = {(options.Schema is { } schema ? $"'{schema}'" : "current_schema()")}";

    public override string StoredName(string name) => name.Length > 63 ? name[..63] : name;

    public override bool HasBulkImport => true;

    /// <summary>
    /// Binary COPY into a session-local staging table (the results table's columns, no indexes,
    /// emptied at each commit), then one INSERT … SELECT with the conflict rule of
    /// <see cref="SqlDialect.ImportTasks"/>, in one transaction. COPY skips the parsing and binding
    /// of an 11,000-parameter statement per chunk, which was most of a migration's time on both
    /// sides of the wire.
    /// </summary>
    public override async Task<int> BulkImportAsync(DbConnection connection, SqlTables t, IReadOnlyList<TaskResult> chunk, DateTime now, CancellationToken cancellationToken)
    {
        var npgsql = (NpgsqlConnection)connection;
        await using var transaction = await npgsql.BeginTransactionAsync(cancellationToken);
        await using (var stage = new NpgsqlCommand($"CREATE TEMP TABLE IF NOT EXISTS resultgrid_import (LIKE {t.Tasks}) ON COMMIT DELETE ROWS", npgsql, transaction))
        {
            await stage.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var writer = await npgsql.BeginBinaryImportAsync($"COPY resultgrid_import ({TaskColumn.List}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            // In TaskColumn order, as the COPY's column list names them.
            foreach (var r in chunk)
            {
                await writer.StartRowAsync(cancellationToken);
                await Text(writer, r.TaskId);
                await Text(writer, r.State);
                await Payload(writer, r.Payload);
                await Text(writer, r.Traceback);
                await Instant(writer, r.DateDone?.UtcDateTime);
                await Instant(writer, now);
                await Instant(writer, r.ExpiresAt?.UtcDateTime);
                await Text(writer, r.Name);
                await Payload(writer, r.Args);
                await Payload(writer, r.Kwargs);
                await Text(writer, r.Worker);
                await (r.Retries is { } retries ? writer.WriteAsync(retries, NpgsqlDbType.Integer, cancellationToken) : writer.WriteNullAsync(cancellationToken));
                await Text(writer, r.Queue);
                await Text(writer, TaskColumn.ChildrenJson(r.Children));
                await Text(writer, r.GroupId);
                await Text(writer, r.ParentId);
            }

            await writer.CompleteAsync(cancellationToken);
        }

        var added = 0;
        await using (var insert = new NpgsqlCommand($"INSERT INTO {t.Tasks} AS cur ({TaskColumn.List}) SELECT {TaskColumn.List} FROM resultgrid_import {ImportConflict}", npgsql, transaction))
        await using (var reader = await insert.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                added++;
            }
        }

        // ON COMMIT DELETE ROWS empties the staging table at the commit (and a pooled
        // connection's reset drops it: it is made again, cheaply, by the next import).
        await transaction.CommitAsync(cancellationToken);
        return added;

        Task Text(NpgsqlBinaryImporter writer, string? value) =>
            value is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

        Task Instant(NpgsqlBinaryImporter writer, DateTime? value) =>
            value is { } at ? writer.WriteAsync(at, NpgsqlDbType.TimestampTz, cancellationToken) : writer.WriteNullAsync(cancellationToken);

        async Task Payload(NpgsqlBinaryImporter writer, ResultPayload? value)
        {
            await (value is null ? writer.WriteNullAsync(cancellationToken) : writer.WriteAsync(value.Data, NpgsqlDbType.Bytea, cancellationToken));
            await Text(writer, value?.ContentType);
            await Text(writer, value?.ContentEncoding);
        }
    }

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
