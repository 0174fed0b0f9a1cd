using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ResultGrid.Storage.Sql;

/// <summary>SQLite through Microsoft.Data.Sqlite: the embedded, durable default.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    public override string Name => "sqlite";
    public override string DisplayName => "SQLite";

    // A file has no pool, TLS or server to tune.
    public override IReadOnlyList<string> UrlParameterNames => SqlStoreSettings.CommonParameters;

    // One writer at a time is all SQLite allows; more batches in flight would only wait on its lock.
    public override int MaxWriters => 1;

    public override bool MultiRowUpserts => false;
    protected override string IdType => "TEXT";
    protected override string ShortTextType => "TEXT";
    protected override string LongTextType => "TEXT";
    protected override string BlobType => "BLOB";

    // Microsoft.Data.Sqlite stores DateTime as ISO-8601 text, which sorts and compares in time order.
    protected override string TimeType => "TEXT";

    // The rowid alias: numbered by SQLite, always above every row there is.
    protected override string AutoIdType => "INTEGER";

    public override DbDataSource CreateDataSource(SqlStoreSettings settings) => CreateDataSource(settings, history: false);

    // Foreign keys only with history on: the pragma is one more statement on every connection
    // opened, which the store without history must not pay.
    public override DbDataSource CreateDataSource(SqlStoreSettings settings, bool history)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = settings.FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            // Also how long a statement waits for another process's lock on the file.
            DefaultTimeout = Seconds(settings.Options.CommandTimeout),
        };
        if (history)
        {
            builder.ForeignKeys = true;
        }

        return SqliteFactory.Instance.CreateDataSource(builder.ConnectionString);
    }

    // Write-ahead logging: readers never wait for the writer. The mode is kept in the file.
    public override IReadOnlyList<string> StartupStatements { get; } = ["PRAGMA journal_mode=WAL"];

    public override string ServerVersionQuery => "SELECT sqlite_version()";

    public override string IndexNames(SqlResultStoreOptions options) => "SELECT name FROM sqlite_master WHERE type = 'index'";

    // SQLITE_BUSY and SQLITE_LOCKED: another process holds the file's lock longer than the timeout.
    protected override bool IsDriverTransient(Exception exception) => exception is SqliteException { SqliteErrorCode: 5 or 6 };

    public override void ClearPool(DbConnection connection) => SqliteConnection.ClearPool((SqliteConnection)connection);
}
