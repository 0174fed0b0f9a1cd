namespace ResultGrid.Storage.Memory;

/// <summary>
/// Results in the cluster's memory, spread over a fixed number of partition grains by a stable
/// hash of the task id. A partition lives as long as its silo, so results outlive the result
/// grains that wrote them (which deactivate right after a write) and are reachable from every
/// silo. A silo that stops takes its partitions with it: use Redis or SQL to survive that.
/// </summary>
internal sealed class MemoryResultStore : IResultStore, IResultHistory
{
    private readonly IGrainFactory _grains;
    private readonly string _name;
    private readonly IMemoryResultPartitionGrain[] _partitions;
    private readonly ResultHistoryOptions _history;

    public MemoryResultStore(IGrainFactory grains, string name, bool singleRetrieval, int partitions, ResultHistoryOptions history)
    {
        _history = history;
        _grains = grains;
        _name = name;
        SingleRetrieval = singleRetrieval;
        Backend = singleRetrieval ? "rpc" : "memory";
        _partitions = new IMemoryResultPartitionGrain[partitions];
        for (var i = 0; i < partitions; i++)
        {
            // rpc and memory stores with the same name must not share partitions.
            _partitions[i] = _grains.GetGrain<IMemoryResultPartitionGrain>($"{Backend}/{_name}/{i}");
        }
    }

    public string Backend { get; }

    public bool SingleRetrieval { get; }

    public bool TryGetCapability<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability =>
        _history.Offers(this, out capability);

    public ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default) =>
        new(PartitionOf(result.TaskId).WriteAsync(result));

    public ValueTask<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, CancellationToken cancellationToken = default) =>
        new(PartitionOf(result.TaskId).WriteWithHistoryAsync(result, entry, _history.MaxEntries));

    public async ValueTask<IReadOnlyList<ResultHistoryEntry>> ReadHistoryAsync(string taskId, CancellationToken cancellationToken = default) =>
        await PartitionOf(taskId).ReadHistoryAsync(taskId);

    public ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(taskId).ReadAsync(taskId));

    /// <summary>One call per partition that holds any of the ids (the silo's reader batches concurrent reads into these), all in flight at once.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        var results = new TaskResult?[taskIds.Count];
        var byPartition = Enumerable.Range(0, taskIds.Count).GroupBy(i => StableHash.Of(taskIds[i]) % (uint)_partitions.Length).ToArray();
        await Task.WhenAll(byPartition.Select(async group =>
        {
            var positions = group.ToArray();
            var read = await _partitions[group.Key].ReadManyAsync(positions.Select(i => taskIds[i]).ToArray());
            for (var k = 0; k < positions.Length; k++)
            {
                results[positions[k]] = read[k];
            }
        }));
        return results;
    }

    public ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(taskId).ExistsAsync(taskId));

    public ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(taskId).GetExistenceAsync(taskId));

    public ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(taskId).ForgetAsync(taskId));

    public ValueTask<TaskResult?> ConsumeAsync(string taskId, CancellationToken cancellationToken = default) =>
        SingleRetrieval
            ? new(PartitionOf(taskId).ConsumeAsync(taskId))
            : throw new NotSupportedException("memory:// results can be read many times; rpc:// hands a result out once (as do redis:// and the db+ URLs with ?single_retrieval=true).");

    public ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default) =>
        new(PartitionOf(group.GroupId).SaveGroupAsync(group));

    public ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(groupId).ReadGroupAsync(groupId));

    public ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        new(PartitionOf(groupId).ForgetGroupAsync(groupId));

    public ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        new(PartitionOf(taskId).ExpireAsync(taskId, expiresAt));

    public ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        new(PartitionOf(key).TryClaimAsync(key, expiresAt));

    private IMemoryResultPartitionGrain PartitionOf(string taskId) => _partitions[StableHash.Of(taskId) % (uint)_partitions.Length];
}
