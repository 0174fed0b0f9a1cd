using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// A migration into an empty table without its secondary indexes: seven B-trees kept up row by
/// row cost a copy several times what the rows themselves do, and one sorted build per index at
/// the end costs a fraction of it (what pg_restore and mysqldump do). The primary key stays, so
/// the imports' rule (add only what no live row holds) holds throughout.
/// </summary>
internal sealed partial class SqlResultStore : IBulkLoadTarget
{
    public async ValueTask<bool> BeginBulkLoadAsync(CancellationToken cancellationToken = default)
    {
        var empty = await Run("bulk load", async c =>
        {
            await using var command = Command(c, $"SELECT 1 FROM {_tables.Tasks} LIMIT 1");
            return await command.ExecuteScalarAsync(cancellationToken) is null;
        }, cancellationToken);
        if (!empty)
        {
            return false;
        }

        var present = await PresentIndexesAsync(cancellationToken);
        var dropped = SqlDialect.Indexes(_tables).Where(i => i.Table == _tables.Tasks && present.Contains(_dialect.StoredName(i.Name))).ToList();
        await Run("bulk load", async c =>
        {
            foreach (var index in dropped)
            {
                await Execute(c, _dialect.DropIndex(index, _settings.Options));
            }

            return true;
        }, cancellationToken);
        LogBulkLoad(_logger, _tables.Tasks, dropped.Count);
        return true;
    }

    public async ValueTask EndBulkLoadAsync(CancellationToken cancellationToken = default)
    {
        var present = await PresentIndexesAsync(cancellationToken);
        var missing = SqlDialect.Indexes(_tables).Where(i => !present.Contains(_dialect.StoredName(i.Name))).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        // The builds dealt out over IndexBuildsAtOnce connections, each running its share in turn.
        var lanes = Math.Min(_dialect.IndexBuildsAtOnce, missing.Count);
        await Task.WhenAll(Enumerable.Range(0, lanes).Select(lane => Run("bulk load", async c =>
        {
            for (var i = lane; i < missing.Count; i += lanes)
            {
                // A build takes as long as the table is large, not the statement timeout's length.
                await using var command = Command(c, _dialect.CreateIndex(missing[i], ifNotExists: false));
                command.CommandTimeout = 0;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken).AsTask()));
        LogIndexesBuilt(_logger, string.Join(", ", missing.Select(i => i.Name)));
    }

    [LoggerMessage(3, LogLevel.Information, "Bulk load into the empty {Table}: {Count} secondary indexes dropped, to be built once when the copy's results are in")]
    private static partial void LogBulkLoad(ILogger logger, string table, int count);

    [LoggerMessage(4, LogLevel.Information, "Bulk load done: built the indexes {Indexes}")]
    private static partial void LogIndexesBuilt(ILogger logger, string indexes);
}
