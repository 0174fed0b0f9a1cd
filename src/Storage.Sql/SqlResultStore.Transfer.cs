using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ResultGrid.Storage.Migration;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Bulk copy for <c>resultgrid migrate</c>: keyset pages in primary-key order (the cursor is the
/// last id, so a resumed copy starts right after it) and imports that add a row only where no
/// live row holds its id: multi-row statements, or the driver's bulk path where the dialect has one.
/// </summary>
internal sealed partial class SqlResultStore : IResultTransfer
{
    // Bytes of values per import chunk (rows are bounded by SqlParameters.ImportRows): a
    // statement well inside every server's packet limit (max_allowed_packet defaults to 64 MiB
    // on MySQL 8 and 16 MiB on MariaDB).
    private const long ImportBytes = 4 * 1024 * 1024;

    // Import statements by row count (-1: SQLite's single-row form), built once each.
    private readonly ConcurrentDictionary<int, string> _imports = new();

    public ValueTask<long> EstimateResultCountAsync(CancellationToken cancellationToken = default) =>
        Run("count", async c =>
        {
            await using var command = Command(c, $"SELECT COUNT(*) FROM {_tables.Tasks}");
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }, cancellationToken);

    public async ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var rows = await Run("scan", async c =>
        {
            await using var command = Command(c, PageAfter(TaskColumn.List, _tables.Tasks, "task_id", pageSize));
            Add(command, 0, cursor ?? string.Empty);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var page = new List<TaskResult>(pageSize);
            while (await reader.ReadAsync(cancellationToken))
            {
                page.Add(FromRow(reader));
            }

            return page;
        }, cancellationToken);
        var now = _time.GetUtcNow();
        return RecordReader.TransferPage(rows.Where(r => !r.IsExpired(now)), rows.Count < pageSize ? null : rows[^1].TaskId);
    }

    public async ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var (groups, problems, last) = await Run("scan", async c =>
        {
            await using var command = Command(c, PageAfter(GroupColumn.List, _tables.Groups, "group_id", pageSize));
            Add(command, 0, cursor ?? string.Empty);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var page = new List<GroupMeta>(pageSize);
            var bad = new List<TransferProblem>();
            string? lastId = null;
            var count = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                count++;
                lastId = reader.GetString(GroupColumn.GroupId);
                try
                {
                    page.Add(GroupFromRow(reader));
                }
                catch (Exception ex) when (ex is JsonException or FormatException)
                {
                    bad.Add(new TransferProblem(lastId, $"The saved group's task ids or chord are not readable: {ex.Message}"));
                }
            }

            return (page, bad, count < pageSize ? null : lastId);
        }, cancellationToken);
        var now = _time.GetUtcNow();
        return new TransferPage<GroupMeta>(groups.Where(g => !g.IsExpired(now)).ToArray(), last, problems);
    }

    public async ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        // One id once per import: PostgreSQL refuses an INSERT … ON CONFLICT that would touch a
        // row twice, and two source keys can carry the same task_id in their documents.
        var live = results.Where(r => !r.IsExpired(now)).DistinctBy(r => r.TaskId, StringComparer.Ordinal).ToList();
        // A bulk path (PostgreSQL's COPY) binds nothing, so its chunk is bounded by bytes alone.
        var rowsPerChunk = _dialect.HasBulkImport ? int.MaxValue : SqlParameters.ImportRows;
        var added = 0;
        var start = 0;
        while (start < live.Count)
        {
            // A chunk ends at rowsPerChunk rows or ImportBytes of values, whichever comes first.
            var end = start;
            long bytes = 0;
            while (end < live.Count && end - start < rowsPerChunk && (end == start || bytes + SizeOf(live[end]) <= ImportBytes))
            {
                bytes += SizeOf(live[end]);
                end++;
            }

            var importing = MigrationTimings.Start();
            added += await ImportChunkAsync(live.GetRange(start, end - start), cancellationToken);
            MigrationTimings.Stop("sql.import chunk", importing);
            start = end;
        }

        return added;
    }

    private Task<int> ImportChunkAsync(List<TaskResult> chunk, CancellationToken cancellationToken) =>
        Run("import", async connection =>
        {
            var now = _time.GetUtcNow().UtcDateTime;
            if (!_dialect.MultiRowUpserts)
            {
                // SQLite: one prepared single-row statement per result, one transaction (see FlushAsync).
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using var single = Command(connection, _imports.GetOrAdd(-1, _ => _dialect.ImportTasks(_tables, 1)));
                single.Transaction = transaction;
                var inserted = 0;
                foreach (var result in chunk)
                {
                    Bind(single, 0, result, now);
                    if (await single.ExecuteScalarAsync(cancellationToken) is string)
                    {
                        inserted++;
                    }
                }

                await transaction.CommitAsync(cancellationToken);
                return inserted;
            }

            if (_dialect.HasBulkImport)
            {
                return await _dialect.BulkImportAsync(connection, _tables, chunk, now, cancellationToken);
            }

            await using var command = Command(connection, _imports.GetOrAdd(chunk.Count, n => _dialect.ImportTasks(_tables, n)));
            for (var r = 0; r < chunk.Count; r++)
            {
                Bind(command, r * TaskColumn.Count, chunk[r], now);
            }

            return chunk.Count - await AlreadyLiveAsync(command, chunk.Count, cancellationToken);
        }, cancellationToken).AsTask();

    public ValueTask<int> ImportGroupsAsync(IReadOnlyList<GroupMeta> groups, CancellationToken cancellationToken = default) =>
        Run("import groups", async connection =>
        {
            var now = _time.GetUtcNow();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(connection, _dialect.ImportGroup(_tables));
            command.Transaction = transaction;
            var added = 0;
            foreach (var group in groups.Where(g => !g.IsExpired(now)).DistinctBy(g => g.GroupId, StringComparer.Ordinal))
            {
                BindGroup(command, group);
                Add(command, GroupColumn.Count, now.UtcDateTime); // the time now, after the group (SqlDialect.ImportGroup)
                added += 1 - await AlreadyLiveAsync(command, 1, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return added;
        }, cancellationToken);

    /// <summary>Runs an import statement; how many of its <paramref name="rows"/> ids were already live (see <see cref="SqlDialect.ImportTasks"/>).</summary>
    private async Task<int> AlreadyLiveAsync(DbCommand command, int rows, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!_dialect.UpsertReturnsApplied)
        {
            return await reader.ReadAsync(cancellationToken) ? Convert.ToInt32(reader.GetValue(OnlyColumn), CultureInfo.InvariantCulture) : 0;
        }

        var added = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            added++;
        }

        return rows - added;
    }
}
