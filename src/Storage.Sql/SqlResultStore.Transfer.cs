using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Bulk copy for <c>resultgrid migrate</c>: keyset pages in primary-key order (the cursor is the
/// last id, so a resumed copy starts right after it) and multi-row imports that add a row only
/// where no live row holds its id.
/// </summary>
internal sealed partial class SqlResultStore : IResultTransfer
{
    // Rows per import statement, and bytes: well inside every server's parameter and packet limits.
    private const int ImportRows = 500;
    private const long ImportBytes = 4 * 1024 * 1024;

    // Import statements by row count (-1: SQLite's single-row form), built once each.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _imports = new();

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
            await using var command = Command(c, $"SELECT {_selectColumns} FROM {_tables.Tasks} WHERE task_id > @p0 ORDER BY task_id LIMIT {pageSize.ToString(CultureInfo.InvariantCulture)}");
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
            await using var command = Command(c, $"SELECT group_id, task_ids, date_done, expires_at, chord FROM {_tables.Groups} WHERE group_id > @p0 ORDER BY group_id LIMIT {pageSize.ToString(CultureInfo.InvariantCulture)}");
            Add(command, 0, cursor ?? string.Empty);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var page = new List<GroupMeta>(pageSize);
            var bad = new List<TransferProblem>();
            string? lastId = null;
            var count = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                count++;
                lastId = reader.GetString(0);
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

    /// <summary>group_id, task_ids, date_done, expires_at, chord.</summary>
    private static GroupMeta GroupFromRow(DbDataReader reader) => new()
    {
        GroupId = reader.GetString(0),
        TaskIds = JsonSerializer.Deserialize<string[]>(reader.GetString(1)) ?? [],
        DateDone = TimeAt(reader, 2),
        ExpiresAt = TimeAt(reader, 3),
        Chord = TextAt(reader, 4) is { } chord ? ChordBody.FromJson(chord) : null,
    };

    public async ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        // One id once per import: PostgreSQL refuses an INSERT … ON CONFLICT that would touch a
        // row twice, and two source keys can carry the same task_id in their documents.
        var live = results.Where(r => !r.IsExpired(now)).DistinctBy(r => r.TaskId, StringComparer.Ordinal).ToList();
        // PostgreSQL's COPY binds nothing, so its chunk is bounded by bytes alone.
        var rowsPerChunk = _dialect is PostgreSqlDialect ? int.MaxValue : ImportRows;
        var added = 0;
        var start = 0;
        while (start < live.Count)
        {
            // A chunk ends at ImportRows rows or ImportBytes of values, whichever comes first.
            var end = start;
            long bytes = 0;
            while (end < live.Count && end - start < rowsPerChunk && (end == start || bytes + SizeOf(live[end]) <= ImportBytes))
            {
                bytes += SizeOf(live[end]);
                end++;
            }

            added += await ImportChunkAsync(live.GetRange(start, end - start), cancellationToken);
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

            if (_dialect is PostgreSqlDialect)
            {
                return await CopyImportAsync((NpgsqlConnection)connection, chunk, now, cancellationToken);
            }

            await using var command = Command(connection, _imports.GetOrAdd(chunk.Count, n => _dialect.ImportTasks(_tables, n)));
            for (var r = 0; r < chunk.Count; r++)
            {
                Bind(command, r * Columns, chunk[r], now);
            }

            return chunk.Count - await AlreadyLiveAsync(command, chunk.Count, cancellationToken);
        }, cancellationToken).AsTask();

    /// <summary>
    /// PostgreSQL: binary COPY into a session-local staging table, then one INSERT … SELECT with
    /// the same conflict rule as <see cref="SqlDialect.ImportTasks"/>, in one transaction. COPY
    /// skips the parsing and binding of an 11,000-parameter statement per chunk, which was most
    /// of a migration's time on both sides of the wire.
    /// </summary>
    private async Task<int> CopyImportAsync(NpgsqlConnection connection, List<TaskResult> chunk, DateTime now, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var stage = new NpgsqlCommand(PostgreSqlDialect.CreateImportStaging(_tables), connection, transaction))
        {
            await stage.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var writer = await connection.BeginBinaryImportAsync(PostgreSqlDialect.CopyIntoImportStaging, cancellationToken))
        {
            foreach (var r in chunk)
            {
                await writer.StartRowAsync(cancellationToken);
                await Text(writer, r.TaskId);
                await Text(writer, r.State);
                await Payload(writer, r.Payload);
                await Text(writer, r.Traceback);
                await Instant(writer, Time(r.DateDone));
                await Instant(writer, now);
                await Instant(writer, Time(r.ExpiresAt));
                await Text(writer, r.Name);
                await Payload(writer, r.Args);
                await Payload(writer, r.Kwargs);
                await Text(writer, r.Worker);
                await (r.Retries is { } retries ? writer.WriteAsync(retries, NpgsqlDbType.Integer, cancellationToken) : writer.WriteNullAsync(cancellationToken));
                await Text(writer, r.Queue);
                await Text(writer, r.Children is null ? null : JsonSerializer.Serialize(r.Children));
                await Text(writer, r.GroupId);
                await Text(writer, r.ParentId);
            }

            await writer.CompleteAsync(cancellationToken);
        }

        var added = 0;
        await using (var insert = new NpgsqlCommand(PostgreSqlDialect.ImportFromStaging(_tables), connection, transaction))
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
                Add(command, 0, group.GroupId);
                Add(command, 1, JsonSerializer.Serialize(group.TaskIds));
                Add(command, 2, Time(group.DateDone));
                Add(command, 3, Time(group.ExpiresAt));
                Add(command, 4, group.Chord?.ToJson());
                Add(command, 5, now.UtcDateTime);
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
            return await reader.ReadAsync(cancellationToken) ? Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture) : 0;
        }

        var added = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            added++;
        }

        return rows - added;
    }
}
