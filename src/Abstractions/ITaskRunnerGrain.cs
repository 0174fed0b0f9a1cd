namespace ResultGrid;

/// <summary>A request to run a registered task.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.TaskSubmission")]
public sealed record TaskSubmission
{
    [Id(0)] public required string TaskId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public ResultPayload? Args { get; init; }
    [Id(3)] public string? GroupId { get; init; }
    [Id(4)] public string? ParentId { get; init; }
    [Id(5)] public string? Queue { get; init; }

    /// <summary>Per-result time to live; null for the task's or the global default.</summary>
    [Id(6)] public TimeSpan? Expires { get; init; }
}

/// <summary>What the runner accepted.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.SubmitReceipt")]
public sealed record SubmitReceipt
{
    [Id(0)] public required string TaskId { get; init; }

    /// <summary>True when the task's result will not be stored (ignore-result), so waiting on it would never end.</summary>
    [Id(1)] public bool ResultIgnored { get; init; }

    /// <summary>True when a failure is stored even though the result is ignored.</summary>
    [Id(2)] public bool StoresErrors { get; init; }
}

/// <summary>
/// Runs registered task handlers on the silo that receives the call. A stateless worker: as many
/// activations as load needs, each local to its silo's handlers.
/// </summary>
[Alias("ResultGrid.ITaskRunnerGrain")]
public interface ITaskRunnerGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Accepts the task and returns at once; the handler runs in the background and writes its
    /// result through the task's result grain.
    /// </summary>
    [Alias("Submit")]
    Task<SubmitReceipt> SubmitAsync(TaskSubmission submission);
}
