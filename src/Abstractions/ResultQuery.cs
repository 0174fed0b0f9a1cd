namespace ResultGrid;

/// <summary>
/// A search over stored results, newest first (by when each was last written): filters by
/// state, task name, group and a date-done range, served from the SQL backends' indexes.
/// Pages are read with <see cref="PageToken"/>, so a large result set is never read at once.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultQuery")]
public sealed record ResultQuery
{
    public const int MaxPageSize = 1000;

    /// <summary>Only these states (any of them); null or empty for all.</summary>
    [Id(0)] public string[]? States { get; init; }

    /// <summary>Only this task name (extended results record it).</summary>
    [Id(1)] public string? Name { get; init; }

    /// <summary>Only the children of this group.</summary>
    [Id(2)] public string? GroupId { get; init; }

    /// <summary>Only results done at or after this time.</summary>
    [Id(3)] public DateTimeOffset? DoneFrom { get; init; }

    /// <summary>Only results done before this time.</summary>
    [Id(4)] public DateTimeOffset? DoneBefore { get; init; }

    /// <summary>Results per page, 1 to <see cref="MaxPageSize"/>. Default 100.</summary>
    [Id(5)] public int PageSize { get; init; } = 100;

    /// <summary>The <see cref="ResultPage.NextPageToken"/> of the previous page; null for the first.</summary>
    [Id(6)] public string? PageToken { get; init; }

    /// <summary>Null when the query is usable; otherwise what is wrong and what is allowed.</summary>
    public string? Validate()
    {
        if (PageSize is < 1 or > MaxPageSize)
        {
            return $"PageSize is {PageSize}; it must be from 1 to {MaxPageSize}.";
        }

        if (DoneFrom is { } from && DoneBefore is { } before && from >= before)
        {
            return $"DoneFrom ({from:O}) must be before DoneBefore ({before:O}).";
        }

        foreach (var state in States ?? [])
        {
            if (string.IsNullOrWhiteSpace(state) || state.Length > 50)
            {
                return $"The state '{state}' is not a state: states are 1 to 50 characters, e.g. SUCCESS, FAILURE, PROGRESS.";
            }
        }

        if (Name is { Length: 0 or > 255 })
        {
            return "Name must be 1 to 255 characters, or null for any task.";
        }

        try
        {
            TaskIds.ValidateField(GroupId, nameof(GroupId));
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }

        return null;
    }
}

/// <summary>One page of a <see cref="ResultQuery"/>.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultPage")]
public sealed record ResultPage
{
    [Id(0)] public required TaskResult[] Items { get; init; }

    /// <summary>Pass it as <see cref="ResultQuery.PageToken"/> for the next page; null on the last page.</summary>
    [Id(1)] public string? NextPageToken { get; init; }

    /// <summary>
    /// The matching rows of this page that could not be read (a damaged or foreign record): each
    /// with its id and what is wrong. They are not in <see cref="Items"/>, and never fail the search.
    /// </summary>
    [Id(2)] public UnreadableRecord[] Unreadable { get; init; } = [];
}

/// <summary>A stored record a search matched but could not read: its id, the bad field and why.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.UnreadableRecord")]
public sealed record UnreadableRecord(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string Field,
    [property: Id(2)] string Reason)
{
    public override string ToString() => $"{TaskId}: {Field}: {Reason}";
}
