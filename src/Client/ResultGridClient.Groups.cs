using System.Diagnostics;
using Microsoft.Extensions.Options;
using ResultGrid.Serialization;

namespace ResultGrid.Client;

// Groups and chords: save, status, join, as-completed, submit.
internal sealed partial class ResultGridClient
{
    // ---- groups ----

    private IGroupResultGrain Group(string groupId)
    {
        TaskIds.Validate(groupId, nameof(groupId));
        return _grainFactory.GetGrain<IGroupResultGrain>(groupId);
    }

    public Task<GroupStatus> SaveGroupAsync(string groupId, IReadOnlyList<string> taskIds, TimeSpan? expires = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        TaskIds.ValidateExpires(expires, nameof(expires));
        var ids = taskIds.ToArray();
        return Idempotent(Group(groupId), g => g.SaveAsync(ids, expires), cancellationToken);
    }

    public async Task<string> SaveChordAsync(string groupId, IReadOnlyList<string> taskIds, string bodyName, string? bodyTaskId = null, TimeSpan? expires = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        ArgumentException.ThrowIfNullOrWhiteSpace(bodyName);
        TaskIds.ValidateExpires(expires, nameof(expires));
        var body = new ChordBody { TaskId = bodyTaskId ?? TaskIds.NewId(), Name = bodyName, Expires = expires };
        var ids = taskIds.ToArray();
        await Idempotent(Group(groupId), g => g.SaveChordAsync(ids, expires, body), cancellationToken).ConfigureAwait(false);
        return body.TaskId;
    }

    public async Task<ChordHandle> SubmitChordAsync(string headerName, IEnumerable<object?> headerArgs, string bodyName, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(headerArgs);
        var groupId = options?.GroupId ?? TaskIds.NewId();
        var args = headerArgs.ToList();
        var ids = args.Select(_ => TaskIds.NewId()).ToArray();

        // Saved first, like a group: a child that finishes at once then finds its chord.
        var bodyTaskId = await SaveChordAsync(groupId, ids, bodyName, options?.TaskId, options?.Expires, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(args.Select((a, i) => SubmitAsync(headerName, a, (options ?? new SubmitOptions()) with { TaskId = ids[i], GroupId = groupId }, cancellationToken))).ConfigureAwait(false);
        return new ChordHandle(this, new GroupHandle(this, groupId, ids), bodyTaskId);
    }

    public Task<GroupStatus> GetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        Idempotent(Group(groupId), static g => g.GetStatusAsync(), cancellationToken);

    public Task<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        Idempotent(Group(groupId), static g => g.ForgetAsync(), cancellationToken);

    public async Task<IReadOnlyList<TaskOutcome<T>>> JoinAsync<T>(string groupId, TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default)
    {
        using var activity = StartClientActivity(ResultGridActivity.ClientJoin, ResultGridActivity.GroupIdTag, groupId);
        try
        {
            var status = await WaitGroupReadyAsync(groupId, timeout, throwAtTimeout: true, cancellationToken).ConfigureAwait(false);
            var records = await ReadChildrenAsync(Group(groupId), cancellationToken).ConfigureAwait(false);
            Debug.Assert(status.IsReady, "a join reads the children once the group is ready");
            activity?.SetTag(ResultGridActivity.CompletedTag, status.Completed).SetTag(ResultGridActivity.TotalTag, status.Total).SetTag(ResultGridActivity.OutcomeTag, "ready");
            var outcomes = new List<TaskOutcome<T>>(records.Count);
            foreach (var record in records)
            {
                outcomes.Add(ToOutcome<T>(record, propagate));
            }

            return outcomes;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    public Task<GroupStatus> WaitGroupAsync(string groupId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more.");
        }

        return WaitGroupTracedAsync(groupId, timeout, cancellationToken);
    }

    private async Task<GroupStatus> WaitGroupTracedAsync(string groupId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var activity = StartClientActivity(ResultGridActivity.ClientJoin, ResultGridActivity.GroupIdTag, groupId);
        try
        {
            var status = await WaitGroupReadyAsync(groupId, timeout, throwAtTimeout: false, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(ResultGridActivity.CompletedTag, status.Completed).SetTag(ResultGridActivity.TotalTag, status.Total).SetTag(ResultGridActivity.OutcomeTag, status.IsReady ? "ready" : "timedOut");
            return status;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    public async Task<IReadOnlyList<TaskResultInfo>> GetGroupResultsAsync(string groupId, CancellationToken cancellationToken = default) =>
        (await ReadChildrenAsync(Group(groupId), cancellationToken).ConfigureAwait(false)).Select(r => new TaskResultInfo(r, _serializer)).ToArray();

    /// <summary>Until every child is READY (woken by the children), or the timeout: the group's status then.</summary>
    private async Task<GroupStatus> WaitGroupReadyAsync(string groupId, TimeSpan? timeout, bool throwAtTimeout, CancellationToken cancellationToken)
    {
        var group = Group(groupId);
        var deadline = Deadline(timeout);
        var seen = 0;
        var failures = 0;
        while (true)
        {
            var groupSlice = Slice(deadline, failures > 0 || Unsettled);
            if (await Attempt(group.WaitForCompletionsAsync(seen, groupSlice, cancellationToken), groupSlice + Grace(groupSlice), cancellationToken).ConfigureAwait(false) is not { Answered: true, Value: var completions })
            {
                // The group's silo died or the gateway dropped: ask again, from the start of the
                // completion order (a new activation rebuilds it from the store in its own order).
                seen = 0;
                ThrowIfPast(deadline, timeout, groupId, "its silo did not answer");
                await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            failures = 0;
            seen += completions.TaskIds.Length;
            var status = completions.Status;
            if (!status.Exists)
            {
                throw new InvalidOperationException($"No group '{groupId}' is saved (or it expired or was forgotten).");
            }

            if (status.IsReady || (!throwAtTimeout && deadline is { } d && _time.GetTimestamp() >= d))
            {
                return status;
            }

            ThrowIfPast(deadline, timeout, groupId, $"{status.Completed} of {status.Total} done");
        }
    }

    /// <summary>The children's stored results in submission order, PENDING where there is none, read by the silo's reader (no result grain).</summary>
    private async Task<IReadOnlyList<TaskResult>> ReadChildrenAsync(IGroupResultGrain group, CancellationToken cancellationToken)
    {
        var ids = await Idempotent(group, static g => g.GetTaskIdsAsync(), cancellationToken).ConfigureAwait(false);

        // All batches in flight at once (the group grain's reads interleave): a 10,000-task join
        // on Redis took 89 ms batch after batch.
        var batches = await Task.WhenAll(Enumerable.Range(0, (ids.Length + GroupReads.BatchSize - 1) / GroupReads.BatchSize).Select(b =>
        {
            var batch = ids.AsSpan(b * GroupReads.BatchSize, Math.Min(GroupReads.BatchSize, ids.Length - (b * GroupReads.BatchSize))).ToArray();
            return ReadManyAsync(group, batch, cancellationToken);
        })).ConfigureAwait(false);
        return batches.SelectMany(b => b).ToArray();
    }

    /// <summary>A batch of a group's children by the silo's reader; on a cluster without it (older silos), by the group grain, as those silos read them.</summary>
    private Task<TaskResult[]> ReadManyAsync(IGroupResultGrain group, string[] batch, CancellationToken cancellationToken) =>
        _routes.Reader is { } reader
            ? Idempotent(reader, g => g.ReadManyAsync(batch), cancellationToken)
            : Idempotent(group, g => g.ReadResultsAsync(batch), cancellationToken);

    public async IAsyncEnumerable<TaskOutcome<T>> AsCompletedAsync<T>(string groupId, TimeSpan? timeout = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var record in CompletedRecordsAsync(groupId, timeout, cancellationToken).ConfigureAwait(false))
        {
            yield return ToOutcome<T>(record, propagate: false);
        }
    }

    public async IAsyncEnumerable<TaskResultInfo> WatchGroupAsync(string groupId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var record in CompletedRecordsAsync(groupId, timeout: null, cancellationToken).ConfigureAwait(false))
        {
            yield return new TaskResultInfo(record, _serializer);
        }
    }

    private async IAsyncEnumerable<TaskResult> CompletedRecordsAsync(string groupId, TimeSpan? timeout, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var group = Group(groupId);
        var deadline = Deadline(timeout);
        var seen = 0;
        var failures = 0;

        // What was handed out already: after a fail-over the new activation's completion order
        // starts again from the store, in its own order, and must not hand a child out twice.
        var yielded = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var groupSlice = Slice(deadline, failures > 0 || Unsettled);
            if (await Attempt(group.WaitForCompletionsAsync(seen, groupSlice, cancellationToken), groupSlice + Grace(groupSlice), cancellationToken).ConfigureAwait(false) is not { Answered: true, Value: var completions })
            {
                seen = 0;
                ThrowIfPast(deadline, timeout, groupId, $"{yielded.Count} handed out; its silo did not answer");
                await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            failures = 0;
            if (!completions.Status.Exists)
            {
                throw new InvalidOperationException($"No group '{groupId}' is saved (or it expired or was forgotten).");
            }

            var fresh = completions.TaskIds.Where(yielded.Add).ToArray();
            for (var offset = 0; offset < fresh.Length; offset += GroupReads.BatchSize)
            {
                var batch = fresh.AsSpan(offset, Math.Min(GroupReads.BatchSize, fresh.Length - offset)).ToArray();
                foreach (var record in await ReadManyAsync(group, batch, cancellationToken).ConfigureAwait(false))
                {
                    yield return record;
                }
            }

            seen += completions.TaskIds.Length;
            if (yielded.Count >= completions.Status.Total)
            {
                yield break;
            }

            if (completions.TaskIds.Length == 0)
            {
                ThrowIfPast(deadline, timeout, groupId, $"{completions.Status.Completed} of {completions.Status.Total} done");
            }
        }
    }

    public async Task<GroupHandle> SubmitGroupAsync(string name, IEnumerable<object?> argsList, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(argsList);
        var groupId = options?.GroupId ?? TaskIds.NewId();
        var args = argsList.ToList();
        var ids = args.Select(_ => TaskIds.NewId()).ToArray();

        // Saved first: a child that finishes at once then finds its group to push to.
        await SaveGroupAsync(groupId, ids, options?.Expires, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(args.Select((a, i) => SubmitAsync(name, a, (options ?? new SubmitOptions()) with { TaskId = ids[i], GroupId = groupId }, cancellationToken))).ConfigureAwait(false);
        return new GroupHandle(this, groupId, ids);
    }
}
