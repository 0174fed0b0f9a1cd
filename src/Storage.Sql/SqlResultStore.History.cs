using System.Collections.Concurrent;
using System.Data.Common;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// State history on SQL: the <c>&lt;task table&gt;_history</c> table, one row per applied write,
/// inserted in the same transaction as the batch's upsert, trimmed to the cap there too, and
/// deleted with its result row by the foreign key's cascade (forget, the expiry sweep).
/// </summary>
internal sealed partial class SqlResultStore
{
    // The history statement of a batch by the number of entries it appends; the cap is fixed for the store's life.
    private readonly ConcurrentDictionary<int, string> _historyAppends = new();

    public bool TryGetCapability<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability =>
        _history.Offers(this, out capability);

    public ValueTask<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, CancellationToken cancellationToken = default) =>
        new((_writes ?? throw NotInitialised()).RunAsync(new SqlWrite(result, entry)));

    /// <summary>
    /// The entries of the writes that applied, in one command: a multi-row INSERT, then one trim
    /// for all the batch's tasks (a batch holds each id once). Inside the upsert's transaction, so a write and its
    /// entry commit or fail together, and a refused write (a kept SUCCESS) adds none.
    /// </summary>
    private async Task AppendHistoryAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<SqlWrite> writes, StoreWriteResult[] outcomes)
    {
        var appended = new List<(string TaskId, ResultHistoryEntry Entry)>();
        for (var i = 0; i < writes.Count; i++)
        {
            if (outcomes[i].Applied && writes[i].Entry is { } entry)
            {
                appended.Add((writes[i].Result.TaskId, entry));
            }
        }

        if (appended.Count == 0)
        {
            return;
        }

        var sql = _historyAppends.GetOrAdd(appended.Count, n =>
        {
            var tasks = Enumerable.Range(0, n).Select(r => SqlParameters.Name(r, HistoryColumn.Count, HistoryColumn.TaskId));
            return _dialect.InsertHistory(_tables, n) + "; " + _dialect.TrimHistory(_tables, tasks, _history.MaxEntries);
        });
        await using var command = Command(connection, sql);
        command.Transaction = transaction;
        for (var r = 0; r < appended.Count; r++)
        {
            var (taskId, entry) = appended[r];
            var at = r * HistoryColumn.Count;
            Add(command, at + HistoryColumn.TaskId, taskId);
            Add(command, at + HistoryColumn.State, entry.State);
            Add(command, at + HistoryColumn.At, entry.At.UtcDateTime);
            Add(command, at + HistoryColumn.Worker, entry.Worker);
            Add(command, at + HistoryColumn.Retries, entry.Retries);
            Add(command, at + HistoryColumn.Reason, entry.Reason);
        }

        await command.ExecuteNonQueryAsync();
    }

    public ValueTask<IReadOnlyList<ResultHistoryEntry>> ReadHistoryAsync(string taskId, CancellationToken cancellationToken = default) =>
        Run<IReadOnlyList<ResultHistoryEntry>>("read history", async c =>
        {
            await using var command = Command(c, _dialect.ReadHistory(_tables));
            Add(command, 0, taskId);
            Add(command, 1, _time.GetUtcNow().UtcDateTime);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var entries = new List<ResultHistoryEntry>();
            // Ordinals of ReadList: the written columns without task_id.
            const int shift = HistoryColumn.TaskId + 1;
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new ResultHistoryEntry
                {
                    State = reader.GetString(HistoryColumn.State - shift),
                    At = TimeAt(reader, HistoryColumn.At - shift)!.Value,
                    Worker = reader.IsDBNull(HistoryColumn.Worker - shift) ? null : reader.GetString(HistoryColumn.Worker - shift),
                    Retries = reader.IsDBNull(HistoryColumn.Retries - shift) ? null : Convert.ToInt32(reader.GetValue(HistoryColumn.Retries - shift), System.Globalization.CultureInfo.InvariantCulture),
                    Reason = reader.IsDBNull(HistoryColumn.Reason - shift) ? null : reader.GetString(HistoryColumn.Reason - shift),
                });
            }

            return entries;
        }, cancellationToken);
}
