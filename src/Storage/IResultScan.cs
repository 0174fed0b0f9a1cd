namespace ResultGrid.Storage;

/// <summary>Optional store capability: list every stored task id, in pages, without blocking the backend.</summary>
public interface IResultScan : IResultStoreCapability
{
    IAsyncEnumerable<string> ScanTaskIdsAsync(CancellationToken cancellationToken = default);
}
