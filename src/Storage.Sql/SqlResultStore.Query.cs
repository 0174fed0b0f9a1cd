using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// The statements that walk an index rather than read one key: searches (newest first, paged
/// by a keyset token), the id scan, and the expiry sweep.
/// </summary>
internal sealed partial class SqlResultStore
{
    /// <summary>Ids per page of <see cref="ScanTaskIdsAsync"/>: short statements on the primary key, never one long-running read.</summary>
    private const int ScanPage = 1000;

    /// <summary>
    /// A keyset page: the rows of <paramref name="table"/> after <c>@p0</c> in <paramref name="key"/>
    /// order, at most <paramref name="limit"/>, so a resumed walk starts right after its last key.
    /// </summary>
    private static string PageAfter(string columns, string table, string key, int limit) =>
        $"SELECT {columns} FROM {table} WHERE {key} > @p0 ORDER BY {key} LIMIT {limit.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Every stored task id, in pages of <see cref="ScanPage"/> on the primary key.</summary>
    public async IAsyncEnumerable<string> ScanTaskIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = string.Empty;
        while (true)
        {
            var from = after;
            var page = await Run("scan", async c =>
            {
                await using var command = Command(c, PageAfter("task_id", _tables.Tasks, "task_id", ScanPage));
                Add(command, 0, from);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                var ids = new List<string>(ScanPage);
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(reader.GetString(OnlyColumn));
                }

                return ids;
            }, cancellationToken);
            foreach (var id in page)
            {
                yield return id;
            }

            if (page.Count < ScanPage)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    public ValueTask<Dictionary<string, long>> CountByStateAsync(CancellationToken cancellationToken = default) =>
        Run("count", async c =>
        {
            await using var command = Command(c, $"SELECT state, COUNT(*) FROM {_tables.Tasks} WHERE (expires_at IS NULL OR expires_at > @p0) GROUP BY state");
            Add(command, 0, _time.GetUtcNow().UtcDateTime);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken))
            {
                counts[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            }

            return counts;
        }, cancellationToken);

    public ValueTask<ResultPage> QueryAsync(ResultQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(query));
        }

        var (afterTime, afterId) = query.PageToken is { } token ? DecodeToken(token) : (null, null);
        var where = new List<string> { "(expires_at IS NULL OR expires_at > @p0)" };
        var values = new List<object?> { _time.GetUtcNow().UtcDateTime };

        string Next(object? value)
        {
            values.Add(value);
            return SqlParameters.Name(values.Count - 1);
        }

        if (query.States is { Length: > 0 } states)
        {
            where.Add($"state IN ({string.Join(", ", states.Distinct(StringComparer.Ordinal).Select(s => Next(s)))})");
        }

        if (query.Name is { } name)
        {
            where.Add($"name = {Next(name)}");
        }

        if (query.GroupId is { } groupId)
        {
            where.Add($"group_id = {Next(groupId)}");
        }

        if (query.DoneFrom is { } doneFrom)
        {
            where.Add($"date_done >= {Next(doneFrom.UtcDateTime)}");
        }

        if (query.DoneBefore is { } doneBefore)
        {
            where.Add($"date_done < {Next(doneBefore.UtcDateTime)}");
        }

        if (afterTime is { } time && afterId is { } id)
        {
            var t = Next(time);
            // The leading "updated_at <= t" is implied by the rest; it is there so that the index
            // on updated_at bounds the scan. Without it, page N of a filtered search re-read every
            // row of the pages before it: page 400 of state=FAILURE over 1,000,000 rows on
            // PostgreSQL took 122.7 ms (40,001 rows filtered); with it, 0.58 ms.
            where.Add($"updated_at <= {t} AND (updated_at < {t} OR (updated_at = {t} AND task_id < {Next(id)}))");
        }

        var sql = $"SELECT {TaskColumn.List} FROM {_tables.Tasks} WHERE {string.Join(" AND ", where)} " +
                  $"ORDER BY updated_at DESC, task_id DESC LIMIT {(query.PageSize + 1).ToString(CultureInfo.InvariantCulture)}";
        return Run("query", async c =>
        {
            await using var command = Command(c, sql);
            for (var i = 0; i < values.Count; i++)
            {
                Add(command, i, values[i]);
            }

            var items = new List<TaskResult>(query.PageSize + 1);
            var unreadable = new List<UnreadableRecord>();
            var rows = 0;
            DateTime lastUpdated = default;
            string? lastId = null;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (rows == query.PageSize)
                {
                    // One row more than the page: there is a next page, which starts after the last
                    // row of this one, good or bad, so paging moves past a damaged row too.
                    return new ResultPage { Items = [.. items], Unreadable = [.. unreadable], NextPageToken = EncodeToken(lastUpdated, lastId!) };
                }

                rows++;
                var row = FromRow(reader);
                if (row.Problem is null)
                {
                    items.Add(row);
                }
                else
                {
                    unreadable.Add(RecordReader.Describe(row));
                }

                lastId = row.TaskId;
                // The keyset's own column; a value the driver cannot read as a time (a foreign
                // writer's, on SQLite) keeps the previous row's, which still moves the page on.
                try
                {
                    lastUpdated = DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(TaskColumn.UpdatedAt), DateTimeKind.Utc);
                }
                catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
                {
                    // The row itself is already reported; the page goes on from the last readable time.
                }
            }

            return new ResultPage { Items = [.. items], Unreadable = [.. unreadable] };
        }, cancellationToken);
    }

    private static string EncodeToken(DateTime updatedAt, string taskId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(updatedAt.Ticks.ToString(CultureInfo.InvariantCulture) + ":" + taskId));

    private static (DateTime?, string?) DecodeToken(string token)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            var ticks = long.Parse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture);
            return (new DateTime(ticks, DateTimeKind.Utc), text[(colon + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            throw new ArgumentException("PageToken is not a token this store issued: pass the NextPageToken of the previous page unchanged, or null for the first page.", nameof(token), ex);
        }
    }

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return Run("sweep", async c =>
        {
            var deleted = 0;
            foreach (var (table, key) in new[] { (_tables.Tasks, "task_id"), (_tables.Groups, "group_id"), (_tables.Claims, "claim_key") })
            {
                await using var command = Command(c, _dialect.DeleteExpired(table, key, limit));
                Add(command, 0, now.UtcDateTime);
                var rows = await command.ExecuteNonQueryAsync(cancellationToken);
                if (table == _tables.Tasks)
                {
                    deleted = rows;
                }
            }

            return deleted;
        }, cancellationToken);
    }

    public ValueTask<DateTimeOffset?> OldestExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Run("sweep", async c =>
        {
            await using var command = Command(c, $"SELECT MIN(expires_at) FROM {_tables.Tasks} WHERE expires_at <= @p0");
            Add(command, 0, now.UtcDateTime);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? TimeAt(reader, OnlyColumn) : null;
        }, cancellationToken);
}
