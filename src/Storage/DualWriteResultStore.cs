using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ResultGrid.Storage;

/// <summary>
/// Live migration between two durable backends (<c>ResultGrid:SecondaryBackend</c>): every write
/// goes to both, reads go to the primary and fall back to the secondary where the primary has
/// nothing. A write is acknowledged only once both backends hold it, so that either one can
/// become the only backend later without losing an acknowledged result.
/// </summary>
/// <remarks>
/// The three configuration steps (old primary + new secondary, then new primary + old
/// secondary, then new alone) are each rolled out silo by silo, so for a while silos with
/// opposite primaries write side by side. Every rule here holds whichever side a silo calls
/// primary: both sides receive every acknowledged write, a stored SUCCESS is never replaced on
/// either side, and a chord's one-time claim is taken in one order common to all silos.
/// <para>
/// Its optional capabilities (<see cref="TryGetCapability{T}"/>) are those its two stores really
/// have, and the object itself implements none of them, so an <c>is</c> check on it finds nothing.
/// </para>
/// </remarks>
internal sealed partial class DualWriteResultStore : IResultStore, IAsyncDisposable
{
    private readonly IResultStore _primary;
    private readonly IResultStore _secondary;
    private readonly ILogger _logger;

    // Claims are taken first in _claimFirst, then in _claimSecond: an order that depends only
    // on the two URLs, not on which of them this silo calls primary.
    private readonly IResultStore _claimFirst;
    private readonly IResultStore _claimSecond;
    private readonly string _claimFirstUrl;
    private readonly string _claimSecondUrl;

    // Claims this silo won in _claimFirst whose claim in _claimSecond then failed: a retry from
    // this silo goes straight to _claimSecond, or nobody could ever win the claim again.
    private readonly ConcurrentDictionary<string, byte> _firstClaimsHeld = new(StringComparer.Ordinal);

    private readonly Capabilities _capabilities;

    private readonly Counter<long>? _fallbackReads;
    private readonly Counter<long>? _secondaryFailures;
    private readonly Counter<long>? _repairs;

    /// <param name="primary">The store read first, whose conditional write decides.</param>
    /// <param name="primaryUrl">The primary's URL, redacted: for messages, logs and the claim order.</param>
    /// <param name="secondary">The store every write is copied to, read where the primary has nothing.</param>
    /// <param name="secondaryUrl">The secondary's URL, redacted; must differ from <paramref name="primaryUrl"/>.</param>
    /// <param name="logger">Secondary failures, repairs and the mode are logged here.</param>
    /// <param name="meterFactory">When given, counters of fallback reads, secondary failures and repairs.</param>
    public DualWriteResultStore(IResultStore primary, string primaryUrl, IResultStore secondary, string secondaryUrl, ILogger? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(secondary);
        ArgumentException.ThrowIfNullOrWhiteSpace(primaryUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(secondaryUrl);
        if (ReferenceEquals(primary, secondary) || string.Equals(primaryUrl, secondaryUrl, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Dual-write needs two different backends; both are {primaryUrl}.", nameof(secondaryUrl));
        }

        if (primary.SingleRetrieval || secondary.SingleRetrieval)
        {
            var side = primary.SingleRetrieval ? primaryUrl : secondaryUrl;
            throw new ArgumentException($"{side} hands each result out once (rpc://, or single_retrieval=true), so it cannot be one side of a dual-write store: " +
                "a result consumed on one side would still be readable on the other. Drop single_retrieval from the URL, or do not dual-write.", primary.SingleRetrieval ? nameof(primary) : nameof(secondary));
        }

        _primary = primary;
        _secondary = secondary;
        PrimaryUrl = primaryUrl;
        SecondaryUrl = secondaryUrl;
        _logger = logger ?? NullLogger.Instance;
        _capabilities = Capabilities.Of(this);

        var primaryFirst = string.CompareOrdinal(primaryUrl, secondaryUrl) < 0;
        (_claimFirst, _claimFirstUrl, _claimSecond, _claimSecondUrl) = primaryFirst
            ? (primary, primaryUrl, secondary, secondaryUrl)
            : (secondary, secondaryUrl, primary, primaryUrl);

        if (meterFactory is not null)
        {
            var meter = meterFactory.Create(ResultGridMeter.Name);
            _fallbackReads = meter.CreateCounter<long>("resultgrid.dualwrite.fallback_reads", "{read}",
                "Reads the primary could not answer and the secondary did: results the new backend still lacks (should fall to zero once migrate has run).");
            _secondaryFailures = meter.CreateCounter<long>("resultgrid.dualwrite.secondary_failures", "{call}",
                "Writes, forgets and claims that failed on the secondary backend (each failed the call: nothing was acknowledged).");
            _repairs = meter.CreateCounter<long>("resultgrid.dualwrite.repairs", "{write}",
                "A stored SUCCESS found on one side only and copied to the other.");
        }
    }

    /// <summary>The primary's backend scheme, so metrics and logs keep their backend tag through a migration.</summary>
    public string Backend => _primary.Backend;

    /// <summary>Always false: a single-retrieval store (rpc://, single_retrieval=true) is never a side of a dual-write store.</summary>
    public bool SingleRetrieval => false;

    /// <summary>The primary's URL, redacted.</summary>
    public string PrimaryUrl { get; }

    /// <summary>The secondary's URL, redacted.</summary>
    public string SecondaryUrl { get; }

    public IResultStore Primary => _primary;

    public IResultStore Secondary => _secondary;

    /// <summary>Connects both backends; a failure names the side that failed.</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _primary.InitializeAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException($"The primary result backend {PrimaryUrl} (ResultGrid:Backend) could not be initialised: {ex.Message}", ex);
        }

        try
        {
            await _secondary.InitializeAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException($"The secondary result backend {SecondaryUrl} (ResultGrid:SecondaryBackend) could not be initialised: {ex.Message}", ex);
        }

        LogDualWrite(_logger, PrimaryUrl, SecondaryUrl);
    }

    /// <summary>
    /// The primary's conditional write decides. Whatever it decided is then made true on the
    /// secondary too: the record it stored, or the SUCCESS it kept. Acknowledged only when both
    /// hold it; a secondary that fails fails the write (after its own retries).
    /// </summary>
    public ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default) => WriteAsync(result, null, cancellationToken);

    /// <summary>
    /// The write, with <paramref name="entry"/> (history on) appended on each side that keeps a
    /// history, in that side's own conditional write; the repairs copy a SUCCESS that was already
    /// written, so they append nothing.
    /// </summary>
    private async ValueTask<StoreWriteResult> WriteAsync(TaskResult result, ResultHistoryEntry? entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        var outcome = await WriteOn(_primary, result, entry, cancellationToken);
        if (outcome.Applied)
        {
            var copied = await OnSecondaryAsync("write", result.TaskId, () => WriteOn(_secondary, result, entry, cancellationToken));
            if (copied.Outcome == WriteOutcome.KeptSuccess && result.State != TaskStates.Success)
            {
                // The secondary holds a SUCCESS the primary did not (a write that once reached
                // only the secondary, or a SUCCESS a reader already saw through the fallback).
                // That SUCCESS stands: copy it back over what the primary just stored, so that
                // neither side is left with something else.
                var success = copied.Current ?? await OnSecondaryAsync("read", result.TaskId, () => _secondary.ReadAsync(result.TaskId, cancellationToken));
                if (success is { State: TaskStates.Success })
                {
                    await _primary.WriteAsync(success, cancellationToken);
                    _repairs?.Add(1);
                    LogRepaired(_logger, result.TaskId, SecondaryUrl, PrimaryUrl);
                    return new StoreWriteResult(WriteOutcome.KeptSuccess, success);
                }
            }

            return outcome;
        }

        if (outcome.Outcome == WriteOutcome.KeptSuccess)
        {
            // The primary kept a SUCCESS: make sure the secondary has it too, or a later switch
            // of reads to the secondary could show an older state, or nothing.
            var success = outcome.Current ?? await _primary.ReadAsync(result.TaskId, cancellationToken);
            if (success is { State: TaskStates.Success })
            {
                var copied = await OnSecondaryAsync("write", result.TaskId, () => _secondary.WriteAsync(success, cancellationToken));
                if (copied.Applied)
                {
                    _repairs?.Add(1);
                    LogRepaired(_logger, result.TaskId, PrimaryUrl, SecondaryUrl);
                }
            }
        }

        return outcome;
    }

    private static ValueTask<StoreWriteResult> WriteOn(IResultStore store, TaskResult result, ResultHistoryEntry? entry, CancellationToken cancellationToken) =>
        entry is not null && store.TryGetCapability<IResultHistory>(out var history)
            ? history.WriteWithHistoryAsync(result, entry, cancellationToken)
            : store.WriteAsync(result, cancellationToken);

    /// <summary>The primary's result, or where it has none, the secondary's.</summary>
    public async ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (await _primary.ReadAsync(taskId, cancellationToken) is { } found)
        {
            return found;
        }

        var fallback = await OnSecondaryAsync("read", taskId, () => _secondary.ReadAsync(taskId, cancellationToken));
        if (fallback is not null)
        {
            _fallbackReads?.Add(1);
        }

        return fallback;
    }

    /// <summary>One batched read of the primary, then one of the secondary for the misses only.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var results = await _primary.ReadManyAsync(taskIds, cancellationToken);
        var misses = new List<int>();
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is null)
            {
                misses.Add(i);
            }
        }

        if (misses.Count == 0)
        {
            return results;
        }

        var missing = misses.Select(i => taskIds[i]).ToArray();
        var fallback = await OnSecondaryAsync("read", missing[0], () => _secondary.ReadManyAsync(missing, cancellationToken));
        var found = 0;
        for (var m = 0; m < misses.Count; m++)
        {
            if (fallback[m] is not null)
            {
                results[misses[m]] = fallback[m];
                found++;
            }
        }

        if (found > 0)
        {
            _fallbackReads?.Add(found);
        }

        return results;
    }

    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        await _primary.ExistsAsync(taskId, cancellationToken) || await OnSecondaryAsync("exists", taskId, () => _secondary.ExistsAsync(taskId, cancellationToken));

    /// <summary>Stored if either side has it, as a read would find it; otherwise what the primary knows, or else the secondary.</summary>
    public async ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var primary = await _primary.GetExistenceAsync(taskId, cancellationToken);
        if (primary == ResultExistence.Stored)
        {
            return primary;
        }

        var secondary = await OnSecondaryAsync("exists", taskId, () => _secondary.GetExistenceAsync(taskId, cancellationToken));
        return secondary == ResultExistence.Stored || primary == ResultExistence.Pending ? secondary : primary;
    }

    /// <summary>
    /// Forgets on both sides, the secondary first: if the primary's call then fails, the result
    /// is still there where this silo reads first (the forget failed, visibly), rather than
    /// gone from the primary yet found again through the fallback.
    /// </summary>
    public async ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var secondary = await OnSecondaryAsync("forget", taskId, () => _secondary.ForgetAsync(taskId, cancellationToken));
        var primary = await _primary.ForgetAsync(taskId, cancellationToken);
        return primary || secondary;
    }

    /// <summary>Saved on both sides, the primary first.</summary>
    public async ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        await _primary.SaveGroupAsync(group, cancellationToken);
        await OnSecondaryAsync("save group", group.GroupId, async () =>
        {
            await _secondary.SaveGroupAsync(group, cancellationToken);
            return true;
        });
    }

    public async ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        if (await _primary.ReadGroupAsync(groupId, cancellationToken) is { } found)
        {
            return found;
        }

        var fallback = await OnSecondaryAsync("read group", groupId, () => _secondary.ReadGroupAsync(groupId, cancellationToken));
        if (fallback is not null)
        {
            _fallbackReads?.Add(1);
        }

        return fallback;
    }

    /// <summary>Both sides, the secondary first (see <see cref="ForgetAsync"/>).</summary>
    public async ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var secondary = await OnSecondaryAsync("forget group", groupId, () => _secondary.ForgetGroupAsync(groupId, cancellationToken));
        var primary = await _primary.ForgetGroupAsync(groupId, cancellationToken);
        return primary || secondary;
    }

    /// <summary>
    /// Both sides, the secondary first: an expiry brought forward on the primary only would let
    /// the result come back through the fallback once the primary dropped it.
    /// </summary>
    public async ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var secondary = await OnSecondaryAsync("expire", taskId, () => _secondary.ExpireAsync(taskId, expiresAt, cancellationToken));
        var primary = await _primary.ExpireAsync(taskId, expiresAt, cancellationToken);
        return primary || secondary;
    }

    /// <summary>
    /// A chord's one-time trigger, claimed on both backends in one canonical order (the ordinal
    /// order of the two redacted URLs), not primary first.
    /// </summary>
    /// <remarks>
    /// During a rolling switch some silos call A primary and others B, and silos not yet
    /// restarted claim in one backend only. If each silo claimed its own primary first, silo 1
    /// could win A and silo 2 win B, and each would then lose the other: the chord would never
    /// fire. In one common order, a silo answers true only when it won the first backend and
    /// then the second, and a silo that claims in one backend alone contends with it on that
    /// backend: at most one winner, and whoever took the first claim goes on to the second, so
    /// there is a winner unless the claim was taken before (a chord that already fired).
    /// </remarks>
    public async ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_firstClaimsHeld.ContainsKey(key))
        {
            if (!await ClaimOnAsync(_claimFirst, _claimFirstUrl, key, expiresAt, cancellationToken))
            {
                return false;
            }

            _firstClaimsHeld[key] = 0;
        }

        // Held until the second claim has an answer: if it fails, this silo's retry (the chord
        // grain retries from the same activation) skips the first claim it already owns.
        var won = await ClaimOnAsync(_claimSecond, _claimSecondUrl, key, expiresAt, cancellationToken);
        _firstClaimsHeld.TryRemove(key, out _);
        return won;
    }

    private async ValueTask<bool> ClaimOnAsync(IResultStore store, string url, string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken) =>
        ReferenceEquals(store, _secondary)
            ? await OnSecondaryAsync("claim", key, () => store.TryClaimAsync(key, expiresAt, cancellationToken))
            : await store.TryClaimAsync(key, expiresAt, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var store in new[] { _primary, _secondary })
        {
            if (store is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (store is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    /// <summary>
    /// A call on the secondary. Its failure fails the whole call with an error naming the
    /// secondary: an acknowledged write must be on both sides, or a later switch would lose it.
    /// </summary>
    private async ValueTask<T> OnSecondaryAsync<T>(string operation, string id, Func<ValueTask<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _secondaryFailures?.Add(1, new KeyValuePair<string, object?>("operation", operation));
            LogSecondaryFailed(_logger, ex, operation, id, SecondaryUrl);
            var message = $"Dual-write: {operation} of '{id}' failed on the secondary result backend {SecondaryUrl} (ResultGrid:SecondaryBackend), " +
                          $"primary {PrimaryUrl}: {ex.Message.TrimEnd('.')}. Nothing was acknowledged; the call can be retried.";
            if (ex is ArgumentException)
            {
                throw new ArgumentException(message, ex);
            }

            throw new ResultStoreUnavailableException(message, ex);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Dual-write mode: every write goes to the primary {Primary} and to the secondary {Secondary}; reads go to the primary and fall back to the secondary")]
    private static partial void LogDualWrite(ILogger logger, string primary, string secondary);

    [LoggerMessage(2, LogLevel.Warning, "Dual-write: {Operation} of {Id} failed on the secondary {Secondary}; the call fails and nothing is acknowledged")]
    private static partial void LogSecondaryFailed(ILogger logger, Exception exception, string operation, string id, string secondary);

    [LoggerMessage(3, LogLevel.Information, "Dual-write: task {TaskId} had a SUCCESS on {From} only; copied to {To}")]
    private static partial void LogRepaired(ILogger logger, string taskId, string from, string to);

    [LoggerMessage(4, LogLevel.Warning, "Dual-write: the change feed of the secondary {Secondary} could not watch task {TaskId}; its waiters are woken by the cluster's writes and their own reads")]
    private static partial void LogSecondaryWatchFailed(ILogger logger, Exception exception, string taskId, string secondary);
}
