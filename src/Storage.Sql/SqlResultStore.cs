using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Results in SQL tables, one row per result with every field in its own column, so they can be
/// queried and reported on. Writes are batched upserts that never replace a stored SUCCESS;
/// reads are by primary key; searches use the indexes. One store serves every database: what
/// differs (SQL text, TLS, the driver's bulk path, server facts) it asks of its
/// <see cref="SqlDialect"/>, never the database's kind.
/// </summary>
/// <remarks>
/// This file holds the read and write path; the schema, row mapping, searches, diagnostics and
/// bulk transfer are in the other <c>SqlResultStore.*.cs</c> files.
/// </remarks>
internal sealed partial class SqlResultStore : IResultStore, IResultHistory, IResultScan, IResultQuery, IExpiredResultSweep, IBackendDiagnostics, IRawRecordReader, IAsyncDisposable
{
    private readonly SqlStoreSettings _settings;
    private readonly SqlDialect _dialect;
    private readonly SqlTables _tables;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreRetryPolicy _retry;
    private readonly ResultHistoryOptions _history;

    // Statements by row count, built once each.
    private readonly ConcurrentDictionary<int, string> _upserts = new();
    private readonly ConcurrentDictionary<int, string> _readMany = new();
    private DbDataSource? _dataSource;
    private StoreBatcher<SqlWrite, StoreWriteResult>? _writes;
    private StoreBatcher<string, TaskResult?>? _reads;
    private long _statements;
    private long _rows;

    public SqlResultStore(SqlStoreSettings settings, TimeProvider time, ILogger logger, ResultHistoryOptions? history = null)
    {
        _history = history ?? new ResultHistoryOptions();
        _settings = settings;
        _dialect = SqlDialect.For(settings);
        _tables = _dialect.Tables(settings.Options);
        _time = time;
        _logger = logger;
        _retry = new StoreRetryPolicy(settings.Options.Retry, time);
    }

    public string Backend => _dialect.Name;

    public bool SingleRetrieval => _settings.Options.SingleRetrieval;

    /// <summary>Upsert statements committed, and the results they carried: their ratio is the mean batch size.</summary>
    internal (long Statements, long Rows) BatchCounts => (Interlocked.Read(ref _statements), Interlocked.Read(ref _rows));

    internal SqlStoreSettings Settings => _settings;

    /// <summary>Read batches in flight at once: half the pool, so that reads leave connections to writes.</summary>
    internal static int ReadBatches(SqlResultStoreOptions options) => Math.Max(1, options.MaxPoolSize / 2);

    /// <summary>Write batches in flight at once: the writers asked for, as many as the database takes (SQLite: one).</summary>
    internal static int WriteBatches(SqlResultStoreOptions options, SqlDialect dialect) => Math.Min(options.Writers, dialect.MaxWriters);

    /// <summary>Where the store is (never the password), for messages.</summary>
    public string Display => _settings.Display;

    private DbDataSource DataSource => _dataSource ?? throw NotInitialised();

    private InvalidOperationException NotInitialised() => new($"The SQL result store for {_settings.RedactedUrl} is used before the silo initialised it.");

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        if (_settings.FilePath is { } file)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        }

        _dataSource = _dialect.CreateDataSource(_settings, _history.Enabled);
        var version = await PrepareSchemaAsync(cancellationToken);
        var o = _settings.Options;
        // A failed multi-row statement rolled back and applied nothing: but for an unreachable
        // database, its rows run again one by one, so one bad row fails only itself.
        _writes = new StoreBatcher<SqlWrite, StoreWriteResult>(FlushAsync, w => w.Result.TaskId, w => SizeOf(w.Result), WriteBatches(o, _dialect), o.BatchWindow, o.MaxBatchSize, o.MaxBatchBytes,
            splitOnFailure: ex => ex is not ResultStoreUnavailableException, store: "The SQL result store");

        // Reads never wait for a window: alone, a read goes at once; under load, the reads queued
        // while a query runs share the next one.
        _reads = new StoreBatcher<string, TaskResult?>(ids => ReadManyAsync(ids).AsTask(), null, _ => 1, ReadBatches(o), TimeSpan.Zero, SqlParameters.ReadChunk, long.MaxValue,
            splitOnFailure: ex => ex is not ResultStoreUnavailableException, store: "The SQL result store");
        LogReady(_logger, Display, _tables.Tasks, version, o.MaxPoolSize);
        if (o.SslMode is { } mode && _dialect.Security(mode) != TransportSecurity.Verified)
        {
            LogWeakTls(_logger, Display, mode);
        }
    }

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
        parameter.ParameterName = SqlParameters.Name(index);
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

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
        if (!_settings.Options.PrePing || _dialect.DriverPrePings)
        {
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
        new((_writes ?? throw NotInitialised()).RunAsync(new SqlWrite(result, null)));

    /// <summary>A write in the batcher's queue: the result, and its history entry while history is on.</summary>
    private readonly record struct SqlWrite(TaskResult Result, ResultHistoryEntry? Entry);

    // A result's weight against MaxBatchBytes.
    private static long SizeOf(TaskResult r) => TaskResultWeight.Of(r);

    /// <summary>
    /// One batch, one commit: a multi-row upsert statement (and, on MySQL, the SELECT that tells
    /// refused writes), or, where the dialect prefers it (SQLite), one prepared single-row upsert
    /// run per result inside one transaction.
    /// </summary>
    private async Task<StoreWriteResult[]> FlushAsync(IReadOnlyList<SqlWrite> writes)
    {
        var batch = writes.Select(w => w.Result).ToArray();
        // With history, the upsert and the entries of the writes it applied commit together.
        var history = writes.Any(w => w.Entry is not null);
        var multiRow = _dialect.MultiRowUpserts;
        var sql = _upserts.GetOrAdd(multiRow ? batch.Length : 1, n => _dialect.UpsertTasks(_tables, n, SingleRetrieval));
        return await Run("write", async connection =>
        {
            // Taken per attempt, like the Redis TTL: the row says when it was last written.
            var now = _time.GetUtcNow().UtcDateTime;
            var outcomes = new StoreWriteResult[batch.Length];
            var applied = new HashSet<string>(StringComparer.Ordinal);
            var successes = new Dictionary<string, TaskResult>(StringComparer.Ordinal);
            await using var command = Command(connection, sql);
            await using var transaction = history || !multiRow ? await connection.BeginTransactionAsync() : null;
            command.Transaction = transaction;
            if (multiRow)
            {
                for (var r = 0; r < batch.Length; r++)
                {
                    Bind(command, r * TaskColumn.Count, batch[r], now);
                }

                await using var reader = await command.ExecuteReaderAsync();
                do
                {
                    while (reader.FieldCount > 0 && await reader.ReadAsync())
                    {
                        if (_dialect.UpsertReturnsApplied)
                        {
                            applied.Add(reader.GetString(OnlyColumn));
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
                foreach (var result in batch)
                {
                    Bind(command, 0, result, now);
                    if (await command.ExecuteScalarAsync() is string id)
                    {
                        applied.Add(id);
                    }
                }
            }

            for (var i = 0; i < batch.Length; i++)
            {
                var write = batch[i];
                if (_dialect.UpsertReturnsApplied)
                {
                    outcomes[i] = applied.Contains(write.TaskId) ? StoreWriteResult.Stored : new StoreWriteResult(WriteOutcome.KeptSuccess);
                }
                else
                {
                    outcomes[i] = successes.TryGetValue(write.TaskId, out var stored) && !SameSuccess(stored, write)
                        ? stored.State == TaskStates.Consumed ? new StoreWriteResult(WriteOutcome.AlreadyConsumed) : new StoreWriteResult(WriteOutcome.KeptSuccess, stored)
                        : StoreWriteResult.Stored;
                }
            }

            if (SingleRetrieval && _dialect.UpsertReturnsApplied)
            {
                await TellConsumedAsync(connection, transaction, batch, outcomes);
            }

            if (history)
            {
                await AppendHistoryAsync(connection, transaction!, writes, outcomes);
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync();
            }

            Interlocked.Increment(ref _statements);
            Interlocked.Add(ref _rows, batch.Length);
            return outcomes;
        });
    }

    /// <summary>
    /// Single retrieval, where the upsert names only the rows it applied: which of the refused
    /// writes met a CONSUMED marker rather than a SUCCESS. One more query, on the same connection
    /// and transaction, and only for a batch that had refusals.
    /// </summary>
    private async Task TellConsumedAsync(DbConnection connection, DbTransaction? transaction, TaskResult[] batch, StoreWriteResult[] outcomes)
    {
        var refused = Enumerable.Range(0, batch.Length).Where(i => outcomes[i].Outcome == WriteOutcome.KeptSuccess).ToArray();
        if (refused.Length == 0)
        {
            return;
        }

        var ids = refused.Select(i => batch[i].TaskId).Distinct(StringComparer.Ordinal).ToArray();
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        for (var start = 0; start < ids.Length; start += SqlParameters.ReadChunk)
        {
            var count = Math.Min(SqlParameters.ReadChunk, ids.Length - start);
            await using var command = Command(connection, $"SELECT task_id FROM {_tables.Tasks} WHERE state = '{TaskStates.Consumed}' AND task_id IN ({string.Join(", ", Enumerable.Range(0, count).Select(SqlParameters.Name))})");
            command.Transaction = transaction;
            for (var i = 0; i < count; i++)
            {
                Add(command, i, ids[start + i]);
            }

            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                consumed.Add(reader.GetString(OnlyColumn));
            }
        }

        foreach (var i in refused)
        {
            if (consumed.Contains(batch[i].TaskId))
            {
                outcomes[i] = new StoreWriteResult(WriteOutcome.AlreadyConsumed);
            }
        }
    }

    // A retried write whose first attempt committed finds its own SUCCESS: that is this write, not a refusal.
    private static bool SameSuccess(TaskResult stored, TaskResult write) =>
        write.State == TaskStates.Success && (stored.Payload?.Data ?? []).AsSpan().SequenceEqual(write.Payload?.Data ?? []);

    /// <summary>The row, unless it has expired: every read filters on expiry, whether or not a cleanup has run.</summary>
    /// <remarks>A CONSUMED marker reads as the memory rpc:// store's: the state and its expiry, nothing of the result.</remarks>
    private TaskResult? Live(TaskResult? result) =>
        result is null || result.IsExpired(_time.GetUtcNow()) ? null
        : result.State == TaskStates.Consumed ? TaskResult.Consumed(result.TaskId) with { ExpiresAt = result.ExpiresAt }
        : result;

    /// <summary>By primary key; concurrent reads are gathered into one <c>IN</c> query.</summary>
    public ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default) =>
        new((_reads ?? throw NotInitialised()).RunAsync(taskId));

    /// <summary>Many results with one <c>IN</c> query per <see cref="SqlParameters.ReadChunk"/> ids.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, TaskResult>(taskIds.Count, StringComparer.Ordinal);
        for (var start = 0; start < taskIds.Count; start += SqlParameters.ReadChunk)
        {
            var count = Math.Min(SqlParameters.ReadChunk, taskIds.Count - start);
            var sql = _readMany.GetOrAdd(count, n => $"SELECT {TaskColumn.List} FROM {_tables.Tasks} WHERE task_id IN ({string.Join(", ", Enumerable.Range(0, n).Select(SqlParameters.Name))})");
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

    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        await GetExistenceAsync(taskId, cancellationToken) == ResultExistence.Stored;

    /// <summary>An expired row the sweep has not reached yet says "expired"; a CONSUMED marker (single retrieval) "consumed".</summary>
    public async ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default) =>
        await ReadExpiryAsync(taskId, cancellationToken) switch
        {
            (false, _, _) => ResultExistence.Pending,
            (true, { } at, _) when at <= _time.GetUtcNow() => ResultExistence.Expired,
            (true, _, true) => ResultExistence.Consumed,
            _ => ResultExistence.Stored,
        };

    /// <summary>
    /// Whether the result's row is there, when it expires (null: never), and whether it is a
    /// CONSUMED marker (asked only of a single-retrieval store: no other has one).
    /// </summary>
    private ValueTask<(bool Found, DateTimeOffset? ExpiresAt, bool Consumed)> ReadExpiryAsync(string taskId, CancellationToken cancellationToken) =>
        SingleRetrieval
            ? ReadOneAsync("exists", $"SELECT expires_at, state FROM {_tables.Tasks} WHERE task_id = @p0", taskId,
                reader => (true, TimeAt(reader, OnlyColumn), reader.GetString(OnlyColumn + 1) == TaskStates.Consumed), (false, null, false), cancellationToken)
            : ReadOneAsync("exists", $"SELECT expires_at FROM {_tables.Tasks} WHERE task_id = @p0", taskId,
                reader => (true, TimeAt(reader, OnlyColumn), false), (false, null, false), cancellationToken);

    /// <summary>
    /// The row that <paramref name="sql"/> finds for the key <c>@p0</c> = <paramref name="key"/>,
    /// mapped by <paramref name="map"/>; <paramref name="none"/> when there is none.
    /// </summary>
    private ValueTask<T> ReadOneAsync<T>(string operation, string sql, string key, Func<DbDataReader, T> map, T none, CancellationToken cancellationToken) =>
        Run(operation, async c =>
        {
            await using var command = Command(c, sql);
            Add(command, 0, key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? map(reader) : none;
        }, cancellationToken);

    public ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        SingleRetrieval ? ForgetKeepingTallyAsync(taskId, cancellationToken) : DeleteAsync("forget", _tables.Tasks, "task_id", taskId, cancellationToken);

    /// <summary>
    /// Single retrieval: deletes the row, and says true only when it held a result, not a
    /// CONSUMED marker, as the memory rpc:// store answers. The second DELETE (of a marker) runs
    /// only when the first removed nothing.
    /// </summary>
    private ValueTask<bool> ForgetKeepingTallyAsync(string taskId, CancellationToken cancellationToken) =>
        Run("forget", async c =>
        {
            await using var command = Command(c, $"DELETE FROM {_tables.Tasks} WHERE task_id = @p0 AND state <> '{TaskStates.Consumed}'");
            Add(command, 0, taskId);
            if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                return true;
            }

            command.CommandText = $"DELETE FROM {_tables.Tasks} WHERE task_id = @p0";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return false;
        }, cancellationToken);

    /// <summary>
    /// Single retrieval: the READY row, taken atomically in the database, with the CONSUMED marker
    /// left in its place; null when nothing READY is there. One statement where the dialect has
    /// one (<see cref="SqlDialect.ConsumeTask"/>), else a locked read and the update in one transaction.
    /// </summary>
    public ValueTask<TaskResult?> ConsumeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (!SingleRetrieval)
        {
            throw new NotSupportedException($"The SQL backend {_settings.RedactedUrl} hands results out once only with ?single_retrieval=true (or {SqlResultStoreOptions.SectionName}:SingleRetrieval).");
        }

        // Retried like every call: a lost connection before the commit rolls it back. If the
        // answer is lost after the commit, the retry finds the marker and reports nothing to hand
        // out: a result is handed out at most once, never twice.
        return Run("consume", async c =>
        {
            var now = _time.GetUtcNow().UtcDateTime;
            if (_dialect.ConsumeTask(_tables) is { } statement)
            {
                await using var command = Command(c, statement);
                Add(command, 0, taskId);
                Add(command, 1, now);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                return await reader.ReadAsync(cancellationToken) ? Live(FromRow(reader)) : null;
            }

            await using var transaction = await c.BeginTransactionAsync(cancellationToken);
            TaskResult? taken;
            await using (var select = Command(c, _dialect.SelectForConsume(_tables)))
            {
                select.Transaction = transaction;
                Add(select, 0, taskId);
                Add(select, 1, now);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                taken = await reader.ReadAsync(cancellationToken) ? FromRow(reader) : null;
            }

            if (taken is not null)
            {
                await using var update = Command(c, $"UPDATE {_tables.Tasks} {SqlDialect.MarkConsumed} WHERE task_id = @p0");
                update.Transaction = transaction;
                Add(update, 0, taskId);
                Add(update, 1, now);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return Live(taken);
        }, cancellationToken);
    }

    public async ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default) =>
        await Run("save group", async c =>
        {
            await using var command = Command(c, _dialect.UpsertGroup(_tables));
            BindGroup(command, group);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        ReadOneAsync("read group", $"SELECT {GroupColumn.List} FROM {_tables.Groups} WHERE group_id = @p0", groupId,
            reader => LiveGroup(GroupFromRow(reader)), null, cancellationToken);

    /// <summary>The group, unless it has expired (like <see cref="Live"/> for results).</summary>
    private GroupMeta? LiveGroup(GroupMeta group) => group.IsExpired(_time.GetUtcNow()) ? null : group;

    public ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) => DeleteAsync("forget group", _tables.Groups, "group_id", groupId, cancellationToken);

    /// <summary>Deletes the row of <paramref name="table"/> whose <paramref name="key"/> is <paramref name="id"/>; true when there was one.</summary>
    private ValueTask<bool> DeleteAsync(string operation, string table, string key, string id, CancellationToken cancellationToken) =>
        Run(operation, async c =>
        {
            await using var command = Command(c, $"DELETE FROM {table} WHERE {key} = @p0");
            Add(command, 0, id);
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
