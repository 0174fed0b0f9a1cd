namespace ResultGrid;

/// <summary>
/// One state change of a result, kept beside it while <c>ResultGrid:History:Enabled</c> is on:
/// the state written, when, by which worker, at which retry, and for FAILURE, RETRY and REVOKED a
/// short reason (the exception's type and message, or the revoke reason). Written in the same
/// conditional write as the result, so a write that did not apply (a kept SUCCESS) leaves none,
/// and it expires and is forgotten with its result.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultHistoryEntry")]
public sealed record ResultHistoryEntry
{
    /// <summary>
    /// The longest <see cref="Reason"/> kept, in characters: a timeline line, not a traceback
    /// (that stays in the result), so every entry of a 1000-entry history stays small.
    /// </summary>
    public const int MaxReasonLength = 200;

    /// <summary>The state written: one of <see cref="TaskStates"/> or a custom state.</summary>
    [Id(0)] public required string State { get; init; }

    /// <summary>When the silo made the write.</summary>
    [Id(1)] public required DateTimeOffset At { get; init; }

    /// <summary>The worker that wrote it, when the write named one (extended results).</summary>
    [Id(2)] public string? Worker { get; init; }

    /// <summary>The task's retry count at this write, when the write named one.</summary>
    [Id(3)] public int? Retries { get; init; }

    /// <summary>For FAILURE, RETRY and REVOKED: type and message of the exception, one line, at most <see cref="MaxReasonLength"/> characters.</summary>
    [Id(4)] public string? Reason { get; init; }

    /// <summary>
    /// <paramref name="reason"/> as an entry keeps it: line breaks and tabs become spaces (a
    /// timeline shows one line per entry) and it is cut to <see cref="MaxReasonLength"/>
    /// characters, never inside a surrogate pair; null or blank stays null.
    /// </summary>
    public static string? ShortReason(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return null;
        }

        var line = string.Join(' ', reason.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        if (line.Length <= MaxReasonLength)
        {
            return line;
        }

        var cut = char.IsHighSurrogate(line[MaxReasonLength - 1]) ? MaxReasonLength - 1 : MaxReasonLength;
        return line[..cut];
    }
}
