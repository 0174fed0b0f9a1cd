namespace ResultGrid.Storage;

/// <summary>
/// Optional store capability: tells the grains when a result changes, whoever wrote it. A store
/// shared with writers outside the cluster (Redis, where Celery workers publish every write)
/// implements it, so a waiter is woken by a Celery worker's write as promptly as by a
/// ResultGrid one. A store only ResultGrid writes to has no need of it.
/// </summary>
public interface IResultChangeFeed : IResultStoreCapability
{
    /// <summary>
    /// Calls <paramref name="onChange"/> with every new version of the result until the returned
    /// handle is disposed. Returns once the watch is in place, so a write after it is seen.
    /// </summary>
    ValueTask<IAsyncDisposable> WatchAsync(string taskId, Func<TaskResult, Task> onChange);
}
