using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ResultGrid.Storage;

/// <summary>
/// State history (<c>ResultGrid:History</c>): every applied write of a result keeps a
/// <see cref="ResultHistoryEntry"/> beside it (see <see cref="IResultHistory"/>). Off by default,
/// and off costs nothing: the stores then write exactly what they write without history.
/// </summary>
public sealed class ResultHistoryOptions
{
    /// <summary>The configuration section, under <c>ResultGrid</c>.</summary>
    public const string SectionName = "ResultGrid:History";

    /// <summary>
    /// The most entries <see cref="MaxEntries"/> may be: a history is read whole (one LRANGE, one
    /// indexed SELECT), and a task that changes state more often than this wants a log, not a timeline.
    /// </summary>
    public const int MaxEntriesLimit = 1000;

    /// <summary>Keep a state history for every result. Default off.</summary>
    public bool Enabled { get; set; }

    /// <summary>The most entries kept per result, 1 to <see cref="MaxEntriesLimit"/>; the oldest go first. Default 100.</summary>
    public int MaxEntries { get; set; } = 100;

    /// <summary>Null when the options are usable; otherwise what is wrong, naming the key and what is allowed.</summary>
    public string? Validate() =>
        MaxEntries is < 1 or > MaxEntriesLimit
            ? $"{SectionName}:MaxEntries is {MaxEntries}; it must be a whole number from 1 to {MaxEntriesLimit} (default 100): the most state changes kept per result."
            : null;

    /// <summary>The options the host registered, or history off where none are (the CLI, a bare service provider).</summary>
    public static ResultHistoryOptions From(IServiceProvider services) =>
        services.GetService<IOptions<ResultHistoryOptions>>()?.Value ?? new ResultHistoryOptions();

    /// <summary>
    /// The capability check every store with history makes in its <see cref="IResultStore.TryGetCapability{T}"/>:
    /// <see cref="IResultHistory"/> only while history is on, everything else as the store implements it.
    /// </summary>
    public bool Offers<T>(IResultStore store, [NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability
    {
        capability = typeof(T) == typeof(IResultHistory) && !Enabled ? null : store as T;
        return capability is not null;
    }
}
