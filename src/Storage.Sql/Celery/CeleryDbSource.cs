using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// Celery's own database backend tables (<c>celery_taskmeta</c>, <c>celery_tasksetmeta</c>,
/// written by SQLAlchemy) as a read-only migration source: keyset pages on task_id, each row's
/// pickled result read by <see cref="PickleReader"/> into the JSON Celery's json serializer
/// would have stored. A row that is not plain data is reported (id and reason) and left where it
/// is. Celery keeps no expiry: a row expires <c>result_expires</c> after date_done, as
/// <c>celery.backend_cleanup</c> deletes it.
/// </summary>
internal sealed class CeleryDbSource(CeleryDbSettings settings, TimeProvider time) : IResultStore, IResultTransfer, IAsyncDisposable
{
    public const string ReadOnly = "celery+db+ URLs are read-only: a migration source for resultgrid migrate --from (and resultgrid inspect), never a place results are written";

    private static readonly string[] ExtendedColumns = ["name", "args", "kwargs", "worker", "retries", "queue"];

    private readonly DbDataSource _data = settings.CreateDataSource();
    private bool _extended;
    private bool _initialized;

    public string Backend => "celery+db";

    public bool SingleRetrieval => false;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        if (settings.FilePath is { } file && !File.Exists(file))
        {
            throw new InvalidOperationException($"the SQLite file {file} does not exist; give the file Celery's db+sqlite:// URL names.");
        }

        await using var connection = await _data.OpenConnectionAsync(cancellationToken);
        var taskColumns = await ColumnsAsync(connection, settings.TaskTable, "task_table", cancellationToken);
        foreach (var required in new[] { "task_id", "status", "result", "date_done", "traceback" })
        {
            if (!taskColumns.Contains(required))
            {
                throw new InvalidOperationException($"the table {settings.TaskTableName} has no column {required}, so it is not Celery's task table; name Celery's database_table_names['task'] with ?task_table=.");
            }
        }

        _extended = ExtendedColumns.All(taskColumns.Contains);
        var groupColumns = await ColumnsAsync(connection, settings.GroupTable, "group_table", cancellationToken);
        if (!groupColumns.Contains("taskset_id") || !groupColumns.Contains("result"))
        {
            throw new InvalidOperationException($"the table {settings.GroupTableName} has no taskset_id and result columns, so it is not Celery's group table; name Celery's database_table_names['group'] with ?group_table=.");
        }

        _initialized = true;
    }

    private static async Task<HashSet<string>> ColumnsAsync(DbConnection connection, string table, string parameter, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table} WHERE 1 = 0";
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetName(i).ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        }
        catch (DbException ex)
        {
            throw new InvalidOperationException($"Celery's table {table} cannot be read ({ex.Message.Trim()}); check the database and ?{parameter}= (Celery's database_table_names).", ex);
        }
    }

    private string TaskSelect => "SELECT task_id, status, result, date_done, traceback" + (_extended ? ", name, args, kwargs, worker, retries, queue" : string.Empty) + $" FROM {settings.TaskTable}";

    public async ValueTask<long> EstimateResultCountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _data.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {settings.TaskTable}";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public async ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        EnsureInitialized();
        var (rows, last, count) = await PageAsync(TaskSelect, "task_id", cursor, pageSize, ReadTask, cancellationToken);
        var now = time.GetUtcNow();
        var items = rows.Where(r => r.Item is { } t && !t.IsExpired(now)).Select(r => r.Item!).ToArray();
        var problems = rows.Where(r => r.Problem is not null && !r.Expired).Select(r => r.Problem!).ToArray();
        return new TransferPage<TaskResult>(items, count < pageSize ? null : last, problems);
    }

    public async ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        EnsureInitialized();
        var (rows, last, count) = await PageAsync($"SELECT taskset_id, result, date_done FROM {settings.GroupTable}", "taskset_id", cursor, pageSize, ReadGroup, cancellationToken);
        var now = time.GetUtcNow();
        var items = rows.Where(r => r.Item is { } g && !g.IsExpired(now)).Select(r => r.Item!).ToArray();
        var problems = rows.Where(r => r.Problem is not null && !r.Expired).Select(r => r.Problem!).ToArray();
        return new TransferPage<GroupMeta>(items, count < pageSize ? null : last, problems);
    }

    private sealed record Row<T>(T? Item, TransferProblem? Problem, bool Expired);

    private async Task<(List<Row<T>> Rows, string? Last, int Count)> PageAsync<T>(string select, string key, string? cursor, int pageSize, Func<DbDataReader, Row<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await _data.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"{select} WHERE {key} > @after ORDER BY {key} LIMIT {pageSize.ToString(CultureInfo.InvariantCulture)}";
        var after = command.CreateParameter();
        after.ParameterName = "@after";
        after.Value = cursor ?? string.Empty;
        command.Parameters.Add(after);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<Row<T>>(pageSize);
        string? last = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            last = reader.GetString(0);
            rows.Add(read(reader));
        }

        return (rows, last, rows.Count);
    }

    private Row<TaskResult> ReadTask(DbDataReader row)
    {
        var id = row.GetString(0);
        var state = row.IsDBNull(1) ? TaskStates.Pending : row.GetString(1);
        var done = Date(row, 3);
        var expires = ExpiryOf(done);
        var expired = expires is { } at && at <= time.GetUtcNow();
        try
        {
            var result = Bytes(row, 2) is { } pickled ? ResultJson(id, state, pickled) : null;
            var task = new TaskResult
            {
                TaskId = id,
                State = state,
                Payload = result is null ? null : Json(result),
                Traceback = row.IsDBNull(4) ? null : row.GetString(4),
                DateDone = done,
                ExpiresAt = expires,
            };
            if (_extended)
            {
                task = task with
                {
                    Name = row.IsDBNull(5) ? null : row.GetString(5),
                    Args = Encoded(id, "args", Bytes(row, 6)),
                    Kwargs = Encoded(id, "kwargs", Bytes(row, 7)),
                    Worker = row.IsDBNull(8) ? null : row.GetString(8),
                    Retries = row.IsDBNull(9) ? null : Convert.ToInt32(row.GetValue(9), CultureInfo.InvariantCulture),
                    Queue = row.IsDBNull(10) ? null : row.GetString(10),
                };
            }

            return new Row<TaskResult>(task, null, expired);
        }
        catch (PickleException ex)
        {
            return new Row<TaskResult>(default, new TransferProblem(id, ex.Message), expired);
        }
    }

    private Row<GroupMeta> ReadGroup(DbDataReader row)
    {
        var id = row.GetString(0);
        var done = Date(row, 2);
        var expires = ExpiryOf(done);
        var expired = expires is { } at && at <= time.GetUtcNow();
        try
        {
            var pickled = Bytes(row, 1) ?? throw new PickleException($"group '{id}': the result column is empty; Celery's save_group stores a pickled GroupResult there");
            var children = CeleryPickle.GroupChildren(Read(pickled, $"group '{id}'", "result"), id);
            return new Row<GroupMeta>(new GroupMeta { GroupId = id, TaskIds = children, DateDone = done, ExpiresAt = expires }, null, expired);
        }
        catch (PickleException ex)
        {
            return new Row<GroupMeta>(default, new TransferProblem(id, ex.Message), expired);
        }
    }

    /// <summary>The result column as JSON: plain data as it is; in an exception state, a pickled exception as Celery's failure document.</summary>
    internal static byte[] ResultJson(string id, string state, byte[] pickled)
    {
        var node = Read(pickled, $"task '{id}'", "result");
        try
        {
            if (state is TaskStates.Failure or TaskStates.Retry or TaskStates.Revoked && CeleryPickle.ExceptionJson(node, "result") is { } failure)
            {
                return failure;
            }

            return CeleryPickle.ToJson(node, "result");
        }
        catch (PickleException ex)
        {
            throw new PickleException($"task '{id}': {ex.Message}");
        }
    }

    private static PickleNode Read(byte[] pickled, string owner, string column)
    {
        try
        {
            return PickleReader.Read(pickled);
        }
        catch (PickleException ex)
        {
            throw new PickleException($"{owner}: the {column} column is not a readable pickle: {ex.Message}");
        }
    }

    // args and kwargs are encoded with the result serializer: JSON bytes (json), or a pickle.
    private static ResultPayload? Encoded(string id, string column, byte[]? data)
    {
        if (data is null)
        {
            return null;
        }

        if (data.Length > 0 && data[0] == 0x80)
        {
            try
            {
                return Json(CeleryPickle.ToJson(Read(data, $"task '{id}'", column), column));
            }
            catch (PickleException ex) when (!ex.Message.StartsWith("task '", StringComparison.Ordinal))
            {
                throw new PickleException($"task '{id}': {ex.Message}");
            }
        }

        try
        {
            using var document = JsonDocument.Parse(data, new JsonDocumentOptions { MaxDepth = CeleryPickle.MaxDepth });
        }
        catch (JsonException ex)
        {
            throw new PickleException($"task '{id}': the {column} column is neither JSON nor a pickle (Celery encodes it with the result serializer): {ex.Message}");
        }

        return Json(data);
    }

    private static ResultPayload Json(byte[] data) => new() { Data = data, ContentType = "application/json", ContentEncoding = "utf-8" };

    private DateTimeOffset? ExpiryOf(DateTimeOffset? done) =>
        done is { } d && settings.ResultExpires > TimeSpan.Zero ? d + settings.ResultExpires : null;

    private static byte[]? Bytes(DbDataReader row, int ordinal) => row.IsDBNull(ordinal) ? null : row.GetValue(ordinal) switch
    {
        byte[] b => b,
        string s => Encoding.Latin1.GetBytes(s),
        var other => throw new PickleException($"the column {row.GetName(ordinal)} holds a {other.GetType().Name}, not bytes"),
    };

    // SQLAlchemy's DateTime: naive UTC (Celery writes datetime.utcnow()); SQLite keeps it as text.
    private static DateTimeOffset? Date(DbDataReader row, int ordinal)
    {
        if (row.IsDBNull(ordinal))
        {
            return null;
        }

        var value = row.GetValue(ordinal) switch
        {
            DateTime dt => dt,
            string s when DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed) => parsed,
            var other => throw new PickleException($"the date_done column holds '{other}', which is not a date"),
        };
        return new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));
    }

    private void EnsureInitialized()
    {
        if (!_initialized)
        {
            throw new InvalidOperationException("The celery+db+ source is read before InitializeAsync checked its tables.");
        }
    }

    public async ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        var row = await OneAsync($"{TaskSelect} WHERE task_id = @id", taskId, ReadTask, cancellationToken);
        if (row?.Problem is { } problem)
        {
            // Read one by one, a refused row is a damaged record, never an exception escaping unnamed.
            return new TaskResult { TaskId = taskId, State = TaskStates.Unreadable, Problem = new RecordProblem { Field = "result", Reason = problem.Reason } };
        }

        return row?.Item is { } task && !task.IsExpired(time.GetUtcNow()) ? task : null;
    }

    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        await ReadAsync(taskId, cancellationToken) is not null;

    public async ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        var row = await OneAsync($"SELECT taskset_id, result, date_done FROM {settings.GroupTable} WHERE taskset_id = @id", groupId, ReadGroup, cancellationToken);
        if (row?.Problem is { } problem)
        {
            throw new InvalidOperationException(problem.Reason);
        }

        return row?.Item is { } group && !group.IsExpired(time.GetUtcNow()) ? group : null;
    }

    private async Task<Row<T>?> OneAsync<T>(string sql, string id, Func<DbDataReader, Row<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await _data.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    public ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask<int> ImportGroupsAsync(IReadOnlyList<GroupMeta> groups, CancellationToken cancellationToken = default) => throw Refused();

    private static NotSupportedException Refused() => new(ReadOnly + ".");

    public ValueTask DisposeAsync() => _data.DisposeAsync();
}
