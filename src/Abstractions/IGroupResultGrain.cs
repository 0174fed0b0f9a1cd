using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>A group's progress, kept by its grain from its children's pushes.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.GroupStatus")]
public sealed record GroupStatus
{
    [Id(0)] public required string GroupId { get; init; }

    /// <summary>False when no group of this id is saved (or it expired or was forgotten).</summary>
    [Id(1)] public bool Exists { get; init; }

    [Id(2)] public int Total { get; init; }

    /// <summary>Children READY (SUCCESS, FAILURE or REVOKED).</summary>
    [Id(3)] public int Completed { get; init; }

    [Id(4)] public int Succeeded { get; init; }

    /// <summary>Children FAILURE or REVOKED.</summary>
    [Id(5)] public int Failed { get; init; }

    /// <summary>The chord's body when the group is a chord's header; null for a plain group.</summary>
    [Id(6)] public ChordBody? Chord { get; init; }

    public bool IsReady => Exists && Completed == Total;
    public int Waiting => Total - Completed;
}

/// <summary>Children that completed since a point in the group's completion order.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.GroupCompletions")]
public sealed record GroupCompletions
{
    /// <summary>Child task ids in the order they completed, starting at the position asked for.</summary>
    [Id(0)] public required string[] TaskIds { get; init; }

    [Id(1)] public required GroupStatus Status { get; init; }
}

/// <summary>
/// One group of tasks, keyed by group id: saved with its ordered children, told by each child
/// when it becomes READY (never polling them), and waited on by joiners.
/// </summary>
[Alias("ResultGrid.IGroupResultGrain")]
public interface IGroupResultGrain : IGrainWithStringKey
{
    /// <summary>Saves the group (Celery's save()); children already READY are counted at once.</summary>
    [Alias("Save")]
    Task<GroupStatus> SaveAsync(string[] taskIds, TimeSpan? expires);

    /// <summary>
    /// Saves the group as a chord's header: when its last child is READY, <paramref name="body"/>
    /// runs once with the children's results in submission order, or, if a child failed, its
    /// result is stored as FAILURE naming that child. The trigger is claimed in the store, so it
    /// fires once whatever the silos do.
    /// </summary>
    [Alias("SaveChord")]
    Task<GroupStatus> SaveChordAsync(string[] taskIds, TimeSpan? expires, ChordBody body);

    [AlwaysInterleave, Alias("Status")]
    Task<GroupStatus> GetStatusAsync();

    /// <summary>The saved child ids in submission order; empty when there is no group.</summary>
    [AlwaysInterleave, Alias("TaskIds")]
    Task<string[]> GetTaskIdsAsync();

    /// <summary>
    /// Children completed from position <paramref name="from"/> of the completion order, waiting
    /// at most <paramref name="maxWait"/> for at least one when there are none yet.
    /// </summary>
    [AlwaysInterleave, Alias("Completions")]
    Task<GroupCompletions> WaitForCompletionsAsync(int from, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>The stored results of <paramref name="taskIds"/> in one batched read, PENDING where there is none.</summary>
    [AlwaysInterleave, Alias("ReadResults")]
    Task<TaskResult[]> ReadResultsAsync(string[] taskIds);

    /// <summary>Called by writers when a child becomes READY. Not for applications.</summary>
    /// <remarks>A 5 s response timeout, as for <see cref="ITaskResultGrain.NotifyAsync"/>.</remarks>
    [Alias("ChildReady"), ResponseTimeout("00:00:05")]
    Task OnChildReadyAsync(string taskId, string state);

    /// <summary>Deletes the group's meta (Celery's GroupResult.delete()); the children stay.</summary>
    [Alias("Forget")]
    Task<bool> ForgetAsync();
}

/// <summary>Limits of a group's reads, one value for the grain and the SDK that calls it.</summary>
internal static class GroupReads
{
    /// <summary>
    /// Ids per batched read of a group's children (<see cref="IGroupResultGrain.ReadResultsAsync"/>):
    /// large enough to amortise the store's round trip, small enough for one grain message.
    /// </summary>
    public const int BatchSize = 1000;
}
