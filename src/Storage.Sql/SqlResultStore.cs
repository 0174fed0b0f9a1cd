using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Results in SQL tables, one row per result with every field in its own column, so they can be
/// queried and reported on. Writes are batched upserts that never replace a stored SUCCESS;
/// reads are by primary key; searches use the indexes. The database-specific parts are SQL
/// text in a <see cref="SqlDialect"/>.
/// </summary>
internal sealed partial class SqlResultStore : IResultStore, IResultScan, IResultQuery, IExpiredResultSweep, IBackendDiagnostics, IRawRecordReader, IAsyncDisposable
{
    private const int ReadChunk = 500;
    private static readonly int Columns = SqlDialect.TaskColumns.Length;
    private static readonly string[] ParameterNames = Enumerable.Range(0, 1000 * 22 + 64).Select(i => "@p" + i.ToString(CultureInfo.InvariantCulture)).ToArray();

    private readonly SqlStoreSettings _settings;
    private readonly SqlDialect _dialect;
    private readonly SqlTables _tables;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreRetryPolicy _retry;
    private readonly ConcurrentDictionary<int, string> _upserts = new();
    private readonly ConcurrentDictionary<int, string> _readMany = new();
    private readonly string _selectColumns;
    private DbDataSource? _dataSource;
    private SqlBatcher<TaskResult, StoreWriteResult>? _writes;
    private SqlBatcher<string, TaskResult?>? _reads;
    private long _statements;
    private long _rows;

    public SqlResultStore(SqlStoreSettings settings, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _dialect = SqlDialect.For(settings);
        _tables = _dialect.Tables(settings.Options);
        _time = time;
        _logger = logger;
        _retry = new StoreRetryPolicy(settings.Options.Retry, time);
        _selectColumns = string.Join(", ", SqlDialect.TaskColumns);
    }

    public string Backend => _dialect.Name;

    public bool SingleRetrieval => false;

    /// <summary>Upsert statements committed, and the results they carried: their ratio is the mean batch size.</summary>
    internal (long Statements, long Rows) BatchCounts => (Interlocked.Read(ref _statements), Interlocked.Read(ref _rows));

    internal SqlStoreSettings Settings => _settings;

    /// <summary>Read batches in flight at once: half the pool, so that reads leave connections to writes.</summary>
    internal static int ReadBatches(SqlResultStoreOptions options) => Math.Max(1, options.MaxPoolSize / 2);

    /// <summary>Where the store is (never the password), for messages.</summary>
    public string Display => _settings.Display;

    private DbDataSource DataSource => _dataSource
        ?? throw new InvalidOperationException($"The SQL result store for {_settings.RedactedUrl} is used before the silo initialised it.");

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        if (_settings.FilePath is { } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        }

        _dataSource = _dialect.CreateDataSource(_settings);
        int? version;
        try
        {
            if (_settings.Kind == SqlDatabaseKind.Sqlite)
            {
                // Write-ahead logging: readers never wait for the writer. The mode is kept in the file.
                await Run("connect", c => Execute(c, "PRAGMA journal_mode=WAL"), cancellationToken);
            }

            if (_settings.Options.CreateTables)
            {
                await CreateTablesAsync(cancellationToken);
            }

            version = await Run("read the schema version", async c =>
            {
                await using var command = Command(c, $"SELECT version FROM {_tables.Version} WHERE table_name = @p0");
                Add(command, 0, _settings.Options.TaskTable);
                return await command.ExecuteScalarAsync(cancellationToken) is { } v and not DBNull ? Convert.ToInt32(v, CultureInfo.InvariantCulture) : (int?)null;
            }, cancellationToken);
        }
        catch (DbException ex) when (!_dialect.IsTransient(ex))
        {
            throw new InvalidOperationException(
                $"The SQL result store could not use the {Display}{(_settings.User is { } u ? $" as user '{u}'" : string.Empty)}: {ex.Message}" +
                (_settings.Options.CreateTables ? string.Empty : $" (CreateTables is off: the tables {_tables.Tasks}, {_tables.Groups} and {_tables.Version} must exist.)"), ex);
        }

        if (version is null)
        {
            throw new InvalidOperationException($"The {Display} has no schema version for table {_tables.Tasks}: it was not created by ResultGrid. Turn CreateTables on, or create the tables with ResultGrid's DDL.");
        }

        if (version > SqlDialect.SchemaVersion)
        {
            throw new InvalidOperationException($"The table {_tables.Tasks} in the {Display} is at schema version {version}, written by a newer ResultGrid; this release knows version {SqlDialect.SchemaVersion}. Upgrade the silo.");
        }

        var o = _settings.Options;
        _writes = new SqlBatcher<TaskResult, StoreWriteResult>(FlushAsync, r => r.TaskId, SizeOf, Math.Min(o.Writers, _dialect.MaxWriters), o.BatchWindow, o.MaxBatchSize, o.MaxBatchBytes);

        // Reads never wait for a window: alone, a read goes at once; under load, the reads queued
        // while a query runs share the next one.
        _reads = new SqlBatcher<string, TaskResult?>(ids => ReadManyAsync(ids).AsTask(), null, _ => 1, ReadBatches(o), TimeSpan.Zero, ReadChunk, long.MaxValue);
        LogReady(_logger, Display, _tables.Tasks, version.Value, o.MaxPoolSize);
        if (o.SslMode is "disable" or "disabled" or "allow" or "prefer" or "preferred" or "require" or "required" && _settings.Kind != SqlDatabaseKind.Sqlite)
        {
            LogWeakTls(_logger, Display, o.SslMode);
        }
    }

    /// <summary>
    /// The DDL is idempotent, but two silos starting together can still race inside the
    /// database's catalog (PostgreSQL reports a duplicate type): run it again until it passes.
    /// </summary>
    private async Task CreateTablesAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Run("create tables", async c =>
                {
                    foreach (var statement in _dialect.CreateSchema(_tables, _settings.Options.Schema))
                    {
                        await Execute(c, statement);
                    }

                    await using var command = Command(c, _dialect.InsertVersion(_tables));
                    Add(command, 0, _settings.Options.TaskTable);
                    Add(command, 1, SqlDialect.SchemaVersion);
                    return await command.ExecuteNonQueryAsync(cancellationToken);
                }, cancellationToken);
                return;
            }
            catch (DbException ex) when (attempt < 5 && !_dialect.IsTransient(ex) && !IsAccessProblem(ex))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), _time, cancellationToken);
            }
        }
    }

    // A wrong password or a missing database will not pass on a second try.
    private static bool IsAccessProblem(DbException ex) => ex.SqlState is "28P01" or "28000" or "3D000" || ex.Message.Contains("Access denied", StringComparison.OrdinalIgnoreCase);

    private static async Task<int> Execute(DbConnection connection, string sql)
    {
        await using var command = Command(connection, sql);
        return await command.ExecuteNonQueryAsync();
    }

    private static DbCommand Command(DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    /// <summary>Sets parameter <c>@p{index}</c>, adding it the first time, so a prepared command can be run again with new values.</summary>
    private static void Add(DbCommand command, int index, object? value)
    {
        if (index < command.Parameters.Count)
        {
            command.Parameters[index].Value = value ?? DBNull.Value;
            return;
        }

        var parameter = command.CreateParameter();
        parameter.ParameterName = ParameterNames[index];
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private static DateTime? Time(DateTimeOffset? value) => value?.UtcDateTime;

    /// <summary>
    /// One call on a pooled connection, retried with back-off on errors a new connection may cure;
    /// the pool is cleared on such an error, since a restarted server has closed all its connections.
    /// </summary>
    private ValueTask<T> Run<T>(string operation, Func<DbConnection, Task<T>> body, CancellationToken cancellationToken = default) =>
        _retry.ExecuteAsync(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            try
            {
                return await body(connection);
            }
            catch (Exception ex) when (_dialect.IsTransient(ex))
            {
                _dialect.ClearPool(connection);
                throw;
            }
        }, _dialect.IsTransient, Display, operation, cancellationToken);

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        if (!_settings.Options.PrePing || _settings.Kind == SqlDatabaseKind.MySql)
        {
            // MySqlConnector pre-pings itself (ConnectionReset); SQLite has no server to lose.
            return connection;
        }

        try
        {
            await Execute(connection, "SELECT 1");
            return connection;
        }
        catch (Exception ex) when (_dialect.IsTransient(ex))
        {
            _dialect.ClearPool(connection);
            await connection.DisposeAsync();
            return await DataSource.OpenConnectionAsync(cancellationToken);
        }
    }

    public ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default) =>
        new((_writes ?? throw NotInitialised()).RunAsync(result));

    private InvalidOperationException NotInitialised() => new($"The SQL result store for {_settings.RedactedUrl} is used before the silo initialised it.");

    private static long SizeOf(TaskResult r) =>
        256 + (r.Payload?.Data.Length ?? 0) + (r.Args?.Data.Length ?? 0) + (r.Kwargs?.Data.Length ?? 0) + (r.Traceback?.Length ?? 0) * 2;

    /// <summary>
    /// One batch, one commit: a multi-row upsert statement (and, on MySQL, the SELECT that tells
    /// refused writes), or, where the dialect prefers it (SQLite), one prepared single-row upsert
    /// run per result inside one transaction.
    /// </summary>
    private async Task<StoreWriteResult[]> FlushAsync(IReadOnlyList<TaskResult> batch)
    {
        var multiRow = _dialect.MultiRowUpserts;
        var sql = _upserts.GetOrAdd(multiRow ? batch.Count : 1, n => _dialect.UpsertTasks(_tables, n));
        return await Run("write", async connection =>
        {
            // Taken per attempt, like the Redis TTL: the row says when it was last written.
            var now = _time.GetUtcNow().UtcDateTime;
            var outcomes = new StoreWriteResult[batch.Count];
            var applied = new HashSet<string>(StringComparer.Ordinal);
            var successes = new Dictionary<string, TaskResult>(StringComparer.Ordinal);
            await using var command = Command(connection, sql);
            if (multiRow)
            {
                for (var r = 0; r < batch.Count; r++)
                {
                    Bind(command, r * Columns, batch[r], now);
                }

                await using var reader = await command.ExecuteReaderAsync();
                do
                {
                    while (reader.FieldCount > 0 && await reader.ReadAsync())
                    {
                        if (_dialect.UpsertReturnsApplied)
                        {
                            applied.Add(reader.GetString(0));
                        }
                        else
                        {
                            var stored = FromRow(reader);
                            successes[stored.TaskId] = stored;
                        }
                    }
                }
                while (await reader.NextResultAsync());
            }
            else
            {
                await using var transaction = await connection.BeginTransactionAsync();
                command.Transaction = transaction;
                foreach (var result in batch)
                {
                    Bind(command, 0, result, now);
                    if (await command.ExecuteScalarAsync() is string id)
                    {
                        applied.Add(id);
                    }
                }

                await transaction.CommitAsync();
            }

            for (var i = 0; i < batch.Count; i++)
            {
                var write = batch[i];
                if (_dialect.UpsertReturnsApplied)
                {
                    outcomes[i] = applied.Contains(write.TaskId) ? StoreWriteResult.Stored : new StoreWriteResult(WriteOutcome.KeptSuccess);
                }
                else
                {
                    outcomes[i] = successes.TryGetValue(write.TaskId, out var stored) && !SameSuccess(stored, write)
                        ? new StoreWriteResult(WriteOutcome.KeptSuccess, stored)
                        : StoreWriteResult.Stored;
                }
            }

            Interlocked.Increment(ref _statements);
            Interlocked.Add(ref _rows, batch.Count);
            return outcomes;
        });
    }

    // A retried write whose first attempt committed finds its own SUCCESS: that is this write, not a refusal.
    private static bool SameSuccess(TaskResult stored, TaskResult write) =>
        write.State == TaskStates.Success && (stored.Payload?.Data ?? []).AsSpan().SequenceEqual(write.Payload?.Data ?? []);

    private static void Bind(DbCommand command, int at, TaskResult r, DateTime now)
    {
        Add(command, at + 0, r.TaskId);
        Add(command, at + 1, r.State);
        Add(command, at + 2, r.Payload?.Data);
        Add(command, at + 3, r.Payload?.ContentType);
        Add(command, at + 4, r.Payload?.ContentEncoding);
        Add(command, at + 5, r.Traceback);
        Add(command, at + 6, Time(r.DateDone));
        Add(command, at + 7, now);
        Add(command, at + 8, Time(r.ExpiresAt));
        Add(command, at + 9, r.Name);
        Add(command, at + 10, r.Args?.Data);
        Add(command, at + 11, r.Args?.ContentType);
        Add(command, at + 12, r.Args?.ContentEncoding);
        Add(command, at + 13, r.Kwargs?.Data);
        Add(command, at + 14, r.Kwargs?.ContentType);
        Add(command, at + 15, r.Kwargs?.ContentEncoding);
        Add(command, at + 16, r.Worker);
        Add(command, at + 17, r.Retries);
        Add(command, at + 18, r.Queue);
        Add(command, at + 19, r.Children is null ? null : JsonSerializer.Serialize(r.Children));
        Add(command, at + 20, r.GroupId);
        Add(command, at + 21, r.ParentId);
    }

    /// <summary>
    /// The one mapping of a results row, used by every read, search and transfer. Each column is
    /// read on its own: a value of the wrong form (a date that is not a date, a retry count that
    /// is not a number, text where bytes belong, as Python's sqlite3 stores a str, children that
    /// are not JSON) leaves that field null and becomes the record's <see cref="TaskResult.Problem"/>;
    /// the other fields are read all the same, and the row never fails the statement it came in.
    /// </summary>
    private TaskResult FromRow(DbDataReader r)
    {
        var read = new RecordReader(r.GetString(0));
        var state = read.Read("state", "a state name", r, 1, static (r, i) => StateAt(r, i));
        var record = read.Finish(new TaskResult
        {
            TaskId = read.TaskId,
            State = state ?? TaskStates.Unreadable,
            Payload = read.Read("payload", "bytes (a binary column)", r, 2, static (r, i) => PayloadAt(r, i)),
            Traceback = read.Read("traceback", "text", r, 5, static (r, i) => TextAt(r, i)),
            DateDone = read.Read("date_done", "a date", r, 6, static (r, i) => TimeAt(r, i)),
            ExpiresAt = read.Read("expires_at", "a date", r, 8, static (r, i) => TimeAt(r, i)),
            Name = read.Read("name", "text", r, 9, static (r, i) => TextAt(r, i)),
            Args = read.Read("args", "bytes (a binary column)", r, 10, static (r, i) => PayloadAt(r, i)),
            Kwargs = read.Read("kwargs", "bytes (a binary column)", r, 13, static (r, i) => PayloadAt(r, i)),
            Worker = read.Read("worker", "text", r, 16, static (r, i) => TextAt(r, i)),
            Retries = read.Read("retries", "a whole number", r, 17, static (r, i) => r.IsDBNull(i) ? null : (int?)Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture)),
            Queue = read.Read("queue", "text", r, 18, static (r, i) => TextAt(r, i)),
            Children = read.Read("children", "a JSON list of task ids", r, 19, static (r, i) => ChildrenAt(r, i)),
            GroupId = read.Read("group_id", "text", r, 20, static (r, i) => TextAt(r, i)),
            ParentId = read.Read("parent_id", "text", r, 21, static (r, i) => TextAt(r, i)),
        });
        RecordReader.Report(_logger, _dialect.Name, record);
        return record;
    }

    /// <summary>A state as Celery's column holds it: 1 to 50 characters of text. Anything else makes the record UNREADABLE.</summary>
    private static string StateAt(DbDataReader r, int i)
    {
        if (r.IsDBNull(i))
        {
            throw new FormatException("the column is NULL");
        }

        var state = r.GetValue(i) as string ?? throw new InvalidCastException($"the column holds {r.GetValue(i).GetType().Name}, not text");
        return RecordReader.StateProblem(state) is { } problem ? throw new FormatException(problem) : state;
    }

    private static string[]? ChildrenAt(DbDataReader r, int i)
    {
        if (r.IsDBNull(i))
        {
            return null;
        }

        var text = r.GetString(i);
        try
        {
            return JsonSerializer.Deserialize<string[]>(text);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{RecordReader.Excerpt(text)} ({ex.Message})", ex);
        }
    }

    private static string? TextAt(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? TimeAt(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetFieldValue<DateTime>(i), DateTimeKind.Utc));

    // Data, content type, content encoding: three columns from i. The data must be bytes: text
    // there (a foreign writer's str) is refused, not guessed at as some encoding of the value.
    private static ResultPayload? PayloadAt(DbDataReader r, int i) =>
        r.IsDBNull(i)
            ? null
            : new ResultPayload
            {
                Data = r.GetValue(i) as byte[] ?? throw new InvalidCastException($"the column holds {r.GetValue(i).GetType().Name} where the encoded bytes belong"),
                ContentType = TextAt(r, i + 1) ?? "application/octet-stream",
                ContentEncoding = TextAt(r, i + 2),
            };

    /// <summary>The row, unless it has expired: every read filters on expiry, whether or not a cleanup has run.</summary>
    private TaskResult? Live(TaskResult? result) => result is null || result.IsExpired(_time.GetUtcNow()) ? null : result;

    /// <summary>By primary key; concurrent reads are gathered into one <c>IN</c> query.</summary>
    public ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default) =>
        new((_reads ?? throw NotInitialised()).RunAsync(taskId));

    /// <summary>Many results with one <c>IN</c> query per 500 ids.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, TaskResult>(taskIds.Count, StringComparer.Ordinal);
        for (var start = 0; start < taskIds.Count; start += ReadChunk)
        {
            var count = Math.Min(ReadChunk, taskIds.Count - start);
            var sql = _readMany.GetOrAdd(count, n => $"SELECT {_selectColumns} FROM {_tables.Tasks} WHERE task_id IN ({string.Join(", ", ParameterNames.Take(n))})");
            var from = start;
            await Run("read", async c =>
            {
                await using var command = Command(c, sql);
                for (var i = 0; i < count; i++)
                {
                    Add(command, i, taskIds[from + i]);
                }

                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var row = FromRow(reader);
                    found[row.TaskId] = row;
                }

                return true;
            }, cancellationToken);
        }

        return taskIds.Select(id => Live(found.GetValueOrDefault(id))).ToArray();
    }

    /// <summary>The row as the database holds it, column by column, each value as the driver gives it (text, bytes, time, number).</summary>
    public ValueTask<RawRecord?> ReadRawAsync(string taskId, CancellationToken cancellationToken = default) =>
        Run("read raw", async c =>
        {
            await using var command = Command(c, $"SELECT {_selectColumns} FROM {_tables.Tasks} WHERE task_id = @p0");
            Add(command, 0, taskId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var fields = new List<RawField>(Columns);
            for (var i = 0; i < Columns; i++)
            {
                string? value;
                try
                {
                    value = RawField.Render(reader.GetValue(i));
                }
                catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
                {
                    // A value the driver itself cannot hand over (MariaDB's zero DATETIME): say so.
                    value = $"(the {Backend} driver cannot read it: {ex.Message})";
                }

                fields.Add(new RawField(SqlDialect.TaskColumns[i], value));
            }

            return new RawRecord($"{Display}, table {_tables.Tasks}", fields);
        }, cancellationToken);

    public ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        Run("exists", async c =>
        {
            await using var command = Command(c, $"SELECT expires_at FROM {_tables.Tasks} WHERE task_id = @p0");
            Add(command, 0, taskId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) && (TimeAt(reader, 0) is not { } at || at > _time.GetUtcNow());
        }, cancellationToken);

    /// <summary>An expired row the sweep has not reached yet says "expired".</summary>
    public ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default) =>
        Run("exists", async c =>
        {
            await using var command = Command(c, $"SELECT expires_at FROM {_tables.Tasks} WHERE task_id = @p0");
            Add(command, 0, taskId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return !await reader.ReadAsync(cancellationToken) ? ResultExistence.Pending
                : TimeAt(reader, 0) is { } at && at <= _time.GetUtcNow() ? ResultExistence.Expired
                : ResultExistence.Stored;
        }, cancellationToken);

    public ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        Run("forget", async c =>
        {
            await using var command = Command(c, $"DELETE FROM {_tables.Tasks} WHERE task_id = @p0");
            Add(command, 0, taskId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public async ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default) =>
        await Run("save group", async c =>
        {
            await using var command = Command(c, _dialect.UpsertGroup(_tables));
            Add(command, 0, group.GroupId);
            Add(command, 1, JsonSerializer.Serialize(group.TaskIds));
            Add(command, 2, Time(group.DateDone));
            Add(command, 3, Time(group.ExpiresAt));
            Add(command, 4, group.Chord?.ToJson());
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        Run("read group", async c =>
        {
            await using var command = Command(c, $"SELECT group_id, task_ids, date_done, expires_at, chord FROM {_tables.Groups} WHERE group_id = @p0");
            Add(command, 0, groupId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var group = GroupFromRow(reader);
            return group.IsExpired(_time.GetUtcNow()) ? null : group;
        }, cancellationToken);

    public ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        Run("forget group", async c =>
        {
            await using var command = Command(c, $"DELETE FROM {_tables.Groups} WHERE group_id = @p0");
            Add(command, 0, groupId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    public ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        Run("expire", async c =>
        {
            await using (var command = Command(c, $"UPDATE {_tables.Tasks} SET expires_at = @p1 WHERE task_id = @p0 AND (expires_at IS NULL OR expires_at > @p1)"))
            {
                Add(command, 0, taskId);
                Add(command, 1, expiresAt.UtcDateTime);
                if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
                {
                    return true;
                }
            }

            return await ExistsAsync(taskId, cancellationToken);
        }, cancellationToken);

    public ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        Run("claim", async c =>
        {
            await using var command = Command(c, _dialect.Claim(_tables));
            Add(command, 0, key);
            Add(command, 1, _time.GetUtcNow().UtcDateTime);
            Add(command, 2, Time(expiresAt));
            return await command.ExecuteScalarAsync(cancellationToken) switch
            {
                null or DBNull => false,
                string => true,
                var count => Convert.ToInt64(count, CultureInfo.InvariantCulture) > 0,
            };
        }, cancellationToken);

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
            return await reader.ReadAsync(cancellationToken) ? TimeAt(reader, 0) : null;
        }, cancellationToken);

    /// <summary>Every stored task id, in pages of 1,000 on the primary key (never one long-running read).</summary>
    public async IAsyncEnumerable<string> ScanTaskIdsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = string.Empty;
        while (true)
        {
            var from = after;
            var page = await Run("scan", async c =>
            {
                await using var command = Command(c, $"SELECT task_id FROM {_tables.Tasks} WHERE task_id > @p0 ORDER BY task_id LIMIT 1000");
                Add(command, 0, from);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                var ids = new List<string>(1000);
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(reader.GetString(0));
                }

                return ids;
            }, cancellationToken);
            foreach (var id in page)
            {
                yield return id;
            }

            if (page.Count < 1000)
            {
                yield break;
            }

            after = page[^1];
        }
    }

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
            return ParameterNames[values.Count - 1];
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
            where.Add($"(updated_at < {t} OR (updated_at = {t} AND task_id < {Next(id)}))");
        }

        var sql = $"SELECT {_selectColumns} FROM {_tables.Tasks} WHERE {string.Join(" AND ", where)} " +
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
                    lastUpdated = DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(7), DateTimeKind.Utc);
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

    /// <summary>Server version, the store's tables and their schema version, and on MySQL the server's default isolation.</summary>
    public async Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var facts = new List<BackendFact>();
        var versionSql = _settings.Kind switch
        {
            SqlDatabaseKind.PostgreSql => "SELECT version()",
            SqlDatabaseKind.MySql => "SELECT VERSION()",
            _ => "SELECT sqlite_version()",
        };
        facts.Add(new BackendFact(BackendFactIds.ServerVersion, "server version", await Scalar(versionSql) ?? "?"));
        var tablesPresent = true;
        foreach (var table in new[] { _tables.Tasks, _tables.Groups, _tables.Claims, _tables.Version })
        {
            try
            {
                await Scalar($"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) t");
                facts.Add(new BackendFact(BackendFactIds.Table, "table " + Unquoted(table), "present"));
            }
            catch (System.Data.Common.DbException ex)
            {
                tablesPresent = false;
                facts.Add(new BackendFact(BackendFactIds.Table, "table " + Unquoted(table), "missing: " + ex.Message, FactLevel.Failure, "Start a silo with ResultGrid:Sql:CreateTables on, or create the tables with ResultGrid's DDL."));
            }
        }

        // Missing tables already say it all (and there is no version row to read); with the
        // tables there, an index dropped by hand (or lost in a copy) turns each sweep, or each
        // search, into a scan of the whole table.
        if (tablesPresent)
        {
            facts.AddRange(await DescribeIndexesAsync(cancellationToken));
            var version = await Scalar($"SELECT version FROM {_tables.Version} WHERE table_name = '{_settings.Options.TaskTable}'");
            facts.Add(new BackendFact(BackendFactIds.SchemaVersion, "schema version", version ?? "none", version == SqlDialect.SchemaVersion.ToString(CultureInfo.InvariantCulture) ? FactLevel.Ok : FactLevel.Failure,
                version is null ? "The tables were not created by ResultGrid." : null));
        }
        if (_settings.Kind == SqlDatabaseKind.MySql)
        {
            string? isolation;
            try
            {
                isolation = await Scalar("SELECT @@transaction_isolation");
            }
            catch (System.Data.Common.DbException)
            {
                // MariaDB before 11.1 and MySQL 5.7 call it tx_isolation.
                isolation = await Scalar("SELECT @@tx_isolation");
            }

            facts.Add(new BackendFact(BackendFactIds.DefaultIsolation, "server default isolation", isolation ?? "?", FactLevel.Ok,
                isolation == "READ-COMMITTED" ? null : $"ResultGrid sets {_settings.Options.MySqlIsolationLevel} on its own statements; other clients of these tables get the server's default."));
        }

        return facts;

        async Task<string?> Scalar(string sql) =>
            await Run("describe", async c =>
            {
                await using var command = Command(c, sql);
                return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
            }, cancellationToken);
    }

    /// <summary>Whether the indexes the DDL creates exist: the sweep's (expires_at) and the searches'.</summary>
    private async Task<IEnumerable<BackendFact>> DescribeIndexesAsync(CancellationToken cancellationToken)
    {
        var present = await Run("describe", async c =>
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            await using var command = Command(c, _dialect.IndexNames(_settings.Options));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                names.Add(reader.GetString(0));
            }

            return names;
        }, cancellationToken);

        return SqlDialect.Indexes(_tables).GroupBy(i => i.Cleanup).OrderByDescending(g => g.Key).Select(group =>
        {
            var cleanup = group.Key;
            var expected = group.ToList();
            var missing = expected.Where(i => !present.Contains(_dialect.StoredName(i.Name))).ToList();
            var name = cleanup ? "cleanup indexes" : "query indexes";
            if (missing.Count == 0)
            {
                return new BackendFact(cleanup ? BackendFactIds.CleanupIndexes : BackendFactIds.QueryIndexes, name, $"all {expected.Count} present");
            }

            var cost = cleanup
                ? "Without them every sweep reads whole tables to find expired rows, holding locks that writers wait on."
                : "Without them searches by state, name, group or date read the whole table.";
            return new BackendFact(cleanup ? BackendFactIds.CleanupIndexes : BackendFactIds.QueryIndexes, name, "missing: " + string.Join(", ", missing.Select(i => $"{i.Name} on {Unquoted(i.Table)} ({i.Columns})")), FactLevel.Warning,
                $"{cost} Create them: {string.Join("; ", missing.Select(i => $"CREATE INDEX {_dialect.Quote(i.Name)} ON {i.Table} ({i.Columns})"))}.");
        }).ToList();
    }

    private static string Unquoted(string name) => name.Replace("\"", string.Empty, StringComparison.Ordinal).Replace("`", string.Empty, StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        if (_writes is not null)
        {
            await _writes.DisposeAsync();
        }

        if (_reads is not null)
        {
            await _reads.DisposeAsync();
        }

        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "SQL result store ready: {Where}, table {Table} at schema version {Version}, pool of up to {MaxPool} connections")]
    private static partial void LogReady(ILogger logger, string where, string table, int version, int maxPool);

    [LoggerMessage(2, LogLevel.Warning, "SQL result store {Where}: TLS mode '{Mode}' does not check the server's certificate and host name; use verify-full (PostgreSQL) or verify_identity (MySQL) in production")]
    private static partial void LogWeakTls(ILogger logger, string where, string? mode);
}
