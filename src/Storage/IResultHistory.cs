namespace ResultGrid.Storage;

/// <summary>
/// Optional store capability: each applied write of a result also appends one
/// <see cref="ResultHistoryEntry"/> beside it, in the same conditional write, capped at
/// <see cref="ResultHistoryOptions.MaxEntries"/> (the oldest go first), expiring with the result
/// and removed when it is forgotten. A store reports it only while
/// <see cref="ResultHistoryOptions.Enabled"/> is on: with history off nothing of it is written
/// or read, and the store's writes are exactly those it makes without history.
/// </summary>
public interface IResultHistory : IResultStoreCapability
{
    /// <summary>
    /// <see cref="IResultStore.WriteAsync"/> (the same never-replace-SUCCESS rule and answer),
    /// appending <paramref name="entry"/> to the result's history exactly when the write applies.
    /// </summary>
    ValueTask<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The result's history, oldest first; empty when there is none (never written with history on, forgotten or expired).</summary>
    ValueTask<IReadOnlyList<ResultHistoryEntry>> ReadHistoryAsync(string taskId, CancellationToken cancellationToken = default);
}
