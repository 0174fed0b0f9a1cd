using System.Diagnostics;
using Microsoft.Extensions.Options;
using ResultGrid.Serialization;

namespace ResultGrid.Client;

/// <summary>
/// The SDK over the result grains. Values are encoded here, on the caller's side, so grains
/// move bytes and never need the caller's types; reads are decoded here with the
/// accept-content whitelist.
/// </summary>
internal sealed partial class ResultGridClient : IResultGridClient
{
    private readonly IGrainFactory _grainFactory;
    private readonly Lazy<ResultGrainReferences> _references;
    private readonly Lazy<IResultWriterGrain> _writer;
    private readonly GrainRoutes _routes;
    private readonly CallGathering<string, ResultReadReply> _gatheredReads;
    private readonly CallGathering<ResultWrite, ResultWriteReply> _gatheredWrites;
    private const int GatheredBatch = 128;
    private readonly Lazy<ITaskRunnerGrain> _runner;
    private readonly ResultSerializer _serializer;
    private readonly ResultGridClientOptions _options;
    private readonly TimeProvider _time;
    private readonly GatewayLossSignal? _gatewayLoss;

    public ResultGridClient(IGrainFactory grains, ResultSerializer serializer, IOptions<ResultGridClientOptions> options, TimeProvider? time = null)
        : this(grains, serializer, options, time, gatewayLoss: null)
    {
    }

    internal ResultGridClient(IGrainFactory grains, ResultSerializer serializer, IOptions<ResultGridClientOptions> options, TimeProvider? time, GatewayLossSignal? gatewayLoss)
    {
        _gatewayLoss = gatewayLoss;
        _grainFactory = grains;
        // Lazy: inside a silo the grain type map is complete only once the silo has started.
        _references = new Lazy<ResultGrainReferences>(() => new ResultGrainReferences(grains));
        _writer = new Lazy<IResultWriterGrain>(() => grains.GetGrain<IResultWriterGrain>(0));
        _runner = new Lazy<ITaskRunnerGrain>(() => grains.GetGrain<ITaskRunnerGrain>(0));
        _serializer = serializer;
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _routes = new GrainRoutes(grains, _time);
        // At most 128 calls a batch: enough to share one call's cost many ways, and a batch's
        // answers are handed out one after another, so a smaller batch has its first back sooner.
        _gatheredReads = new CallGathering<string, ResultReadReply>(ids => Idempotent(_routes.BatchReader!, g => g.GetManyAsync(ids), CancellationToken.None), GatheredBatch);
        _gatheredWrites = new CallGathering<ResultWrite, ResultWriteReply>(SendWritesAsync, GatheredBatch, static w => TaskResultWeight.Of(w.Result));
    }

    // ---- upkeep ----

    public async Task<SweepReport> SweepExpiredAsync(CancellationToken cancellationToken = default)
    {
        // Bounded calls in a loop, like a wait: a sweep of millions of rows outlasts any call timeout.
        // Every call names the time of the first: a sweep longer than a slice is joined again,
        // and its report (what it deleted) is the answer, not that of a second sweep after it.
        var sweeper = _grainFactory.GetGrain<IResultSweeperGrain>("default");
        var askedAt = _time.GetUtcNow();
        while (true)
        {
            if (await sweeper.SweepNowAsync(_options.EffectiveWaitSlice, askedAt).WaitAsync(cancellationToken).ConfigureAwait(false) is { } report)
            {
                return report;
            }
        }
    }

    // ---- search ----

    public async Task<ResultQueryPage> QueryAsync(ResultQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(query));
        }

        var page = await _grainFactory.GetGrain<IResultQueryGrain>(0).QueryAsync(query).WaitAsync(cancellationToken).ConfigureAwait(false);
        return new ResultQueryPage(page.Items.Select(r => new TaskResultInfo(r, _serializer)).ToArray(), page.NextPageToken) { Unreadable = page.Unreadable };
    }

    public async Task<IReadOnlyList<ResultHistoryEntry>> GetHistoryAsync(string taskId, CancellationToken cancellationToken = default)
    {
        TaskIds.Validate(taskId, nameof(taskId));
        // A read: retried like the other reads when a silo goes away mid-call.
        return await Idempotent(_grainFactory.GetGrain<IResultQueryGrain>(0), g => g.GetHistoryAsync(taskId), cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<TaskResultInfo> QueryAllAsync(ResultQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = query;
        while (true)
        {
            var page = await QueryAsync(next, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (page.NextPageToken is null)
            {
                yield break;
            }

            next = next with { PageToken = page.NextPageToken };
        }
    }

    /// <summary>The serializer this client encodes and decodes with.</summary>
    public ResultSerializer Serializer => _serializer;

    private ITaskResultGrain Grain(string taskId)
    {
        TaskIds.Validate(taskId);
        return _references.Value.Get(taskId);
    }

    /// <summary>
    /// A read by the reader on the silo that receives the call, not the result grain: the silo
    /// decides per call whether the read needs the grain (single retrieval, expire-after-read),
    /// so this side needs no setting to be correct. On a cluster without the reader (older
    /// silos) the read is the result grain's, as it was there.
    /// </summary>
    private Task<T> Read<T>(string taskId, Func<IResultReaderGrain, Task<T>> byReader, Func<ITaskResultGrain, Task<T>> byGrain, CancellationToken cancellationToken)
    {
        TaskIds.Validate(taskId);
        return _routes.Reader is { } reader ? Idempotent(reader, byReader, cancellationToken) : Idempotent(_references.Value.Get(taskId), byGrain, cancellationToken);
    }

    /// <summary>
    /// One result by id: gathered with the other reads in flight where the silos have the batch
    /// reader (<see cref="CallGathering{TItem, TResult}"/>), alone otherwise.
    /// </summary>
    private async Task<TaskResult> ReadRecordAsync(string taskId, CancellationToken cancellationToken)
    {
        var gather = _gatheredReads.Enter();
        try
        {
            if (gather && _routes.BatchReader is not null)
            {
                var reply = await _gatheredReads.CallAsync(taskId, cancellationToken).ConfigureAwait(false);
                if (reply.Error is null)
                {
                    return reply.Result!;
                }

                if (!ClusterFailures.IsTransient(reply.Error))
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(reply.Error);
                }

                // The cluster failed this one read, not the batch: it is tried again alone, as a
                // single read's transient failure is.
            }

            return await Read(taskId, g => g.GetAsync(taskId), static g => g.GetAsync(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gatheredReads.Exit();
        }
    }

    // ---- reader ----

    public async Task<TaskResultInfo> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        TaskIds.Validate(taskId);
        using var activity = StartClientActivity(ResultGridActivity.ClientGet, ResultGridActivity.TaskIdTag, taskId);
        try
        {
            var record = await ReadRecordAsync(taskId, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(ResultGridActivity.StateTag, record.State);
            return new TaskResultInfo(record, _serializer);
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    public async Task<TaskOutcome<T>> WaitAsync<T>(string taskId, TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default) =>
        ToOutcome<T>(await WaitRecordAsync(taskId, timeout, cancellationToken).ConfigureAwait(false), propagate);

    public async Task<TaskResultInfo> WaitUntilReadyAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more.");
        }

        try
        {
            return new TaskResultInfo(await WaitRecordAsync(taskId, timeout, cancellationToken).ConfigureAwait(false), _serializer);
        }
        catch (ResultTimeoutException)
        {
            // Not READY in time: the result as it is now (a read, never a retrieval of a READY
            // rpc:// result that landed in between: that one is returned, and so handed out).
            return await GetAsync(taskId, cancellationToken).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<TaskResultInfo> WatchAsync(string taskId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var grain = Grain(taskId);
        string? seen = null;
        var failures = 0;
        while (true)
        {
            // Slices like a wait's; a slice the cluster did not answer is asked again at once of
            // a new activation, which reads the store first, so no change is lost, only repeated
            // changes are never told twice (the version is the same).
            var slice = failures > 0 || Unsettled ? ProbeSlice : _options.EffectiveWaitSlice;
            if (await Attempt(grain.WatchAsync(seen, seen is null ? TimeSpan.Zero : slice, cancellationToken), slice + Grace(slice), cancellationToken).ConfigureAwait(false) is not { Answered: true, Value: var record })
            {
                await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            failures = 0;
            var version = TaskResultVersion.Of(record);
            if (version != seen)
            {
                seen = version;
                yield return new TaskResultInfo(record, _serializer);
            }

            if (record.IsReady || record.State == TaskStates.Consumed)
            {
                yield break;
            }
        }
    }

    /// <summary>The bounded-slice wait loop: the READY (or consumed) record, or <see cref="ResultTimeoutException"/>.</summary>
    private async Task<TaskResult> WaitRecordAsync(string taskId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (timeout is { } t && t < TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more, null or Timeout.InfiniteTimeSpan for no limit.");
        }

        var grain = Grain(taskId);
        using var activity = StartClientActivity(ResultGridActivity.ClientWait, ResultGridActivity.TaskIdTag, taskId);
        try
        {
            var record = await WaitSlicesAsync(grain, taskId, timeout, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(ResultGridActivity.StateTag, record.State).SetTag(ResultGridActivity.OutcomeTag, record.State == TaskStates.Consumed ? "consumed" : "ready");
            return record;
        }
        catch (ResultTimeoutException ex)
        {
            activity?.SetTag(ResultGridActivity.StateTag, ex.LastState).SetTag(ResultGridActivity.OutcomeTag, "timedOut");
            throw;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    private async Task<TaskResult> WaitSlicesAsync(ITaskResultGrain grain, string taskId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var limit = timeout == Timeout.InfiniteTimeSpan ? null : timeout;
        var started = _time.GetTimestamp();
        var slice = _options.EffectiveWaitSlice;
        var lastState = TaskStates.Pending;
        var failures = 0;
        while (true)
        {
            // After a failure, short slices until the cluster answers again (see ProbeSlice).
            var current = (failures > 0 || Unsettled) && ProbeSlice < slice ? ProbeSlice : slice;
            var remaining = limit is { } l ? l - _time.GetElapsedTime(started) : current;
            var wait = remaining < current ? remaining : current;
            if (wait < TimeSpan.Zero)
            {
                wait = TimeSpan.Zero;
            }

            // Each call returns within the slice, well inside Orleans' response timeout; the
            // token cancels the call in the grain too. A slice the cluster failed to answer (its
            // silo died, the gateway dropped) is issued again at once: the new call reaches a new
            // activation, which registers the waiter again and reads the store first.
            if (await Attempt(grain.WaitAsync(wait, cancellationToken), wait + Grace(wait), cancellationToken).ConfigureAwait(false) is not { Answered: true, Value: var answered })
            {
                if (limit is { } over && _time.GetElapsedTime(started) >= over)
                {
                    throw new ResultTimeoutException(taskId, over, lastState);
                }

                await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
                continue;
            }

            failures = 0;
            lastState = answered.State;
            if (answered.IsReady || answered.State == TaskStates.Consumed)
            {
                return answered;
            }

            if (limit is { } lim && _time.GetElapsedTime(started) >= lim)
            {
                throw new ResultTimeoutException(taskId, lim, answered.State);
            }
        }
    }

    private TaskOutcome<T> ToOutcome<T>(TaskResult record, bool propagate)
    {
        if (record.State == TaskStates.Consumed)
        {
            throw ResultConsumedException.For(record.TaskId);
        }

        var info = new TaskResultInfo(record, _serializer);
        try
        {
            if (record.Problem is { } problem)
            {
                throw ResultDecodeException.ForRecord(record.TaskId, problem);
            }

            if (record.State == TaskStates.Success)
            {
                return new TaskOutcome<T>(info, info.GetValue<T>(), null);
            }
        }
        catch (ResultDecodeException ex) when (!propagate)
        {
            // A damaged record, or a value that cannot be decoded, is that one task's failure.
            return new TaskOutcome<T>(info, default, new TaskFailure { ExceptionType = nameof(ResultDecodeException), ExceptionModule = typeof(ResultDecodeException).Namespace, Message = ex.Message });
        }

        Debug.Assert(record.IsReady, "only READY records reach an outcome");
        var failure = _serializer.ReadFailure(record);
        if (propagate)
        {
            throw record.State == TaskStates.Revoked
                ? new TaskRevokedException(record.TaskId, failure)
                : new TaskFailedException(record.TaskId, failure);
        }

        return new TaskOutcome<T>(info, default, failure);
    }

    public Task<string> GetStateAsync(string taskId, CancellationToken cancellationToken = default) =>
        Read(taskId, g => g.GetStateAsync(taskId), static g => g.GetStateAsync(), cancellationToken);

    public Task<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        Read(taskId, g => g.ExistsAsync(taskId), static g => g.ExistsAsync(), cancellationToken);

    public Task<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default) =>
        Read(taskId, g => g.GetExistenceAsync(taskId), static g => g.GetExistenceAsync(), cancellationToken);

    /// <remarks>Sent again if the cluster did not answer; a forget that landed the first time then reports false.</remarks>
    public Task<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        Idempotent(Grain(taskId), static g => g.ForgetAsync(), cancellationToken);

    // ---- writer ----

    public Task<WriteOutcome> MarkStartedAsync(string taskId, ResultWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(taskId, TaskStates.Started, null, null, options, cancellationToken);

    public Task<WriteOutcome> MarkRetryAsync(string taskId, Exception reason, int retries, ResultWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentOutOfRangeException.ThrowIfNegative(retries);
        return WriteAsync(taskId, TaskStates.Retry, ResultSerializer.SerializeFailure(reason), reason.ToString(), (options ?? new()) with { Retries = retries }, cancellationToken);
    }

    public Task<WriteOutcome> MarkSucceededAsync<T>(string taskId, T value, ResultWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync(taskId, TaskStates.Success, _serializer.SerializeFor(taskId, "result", value, options?.Serializer, options?.Compression), null, options, cancellationToken);

    public Task<WriteOutcome> MarkFailedAsync(string taskId, Exception exception, ResultWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return WriteAsync(taskId, TaskStates.Failure, ResultSerializer.SerializeFailure(exception), exception.ToString(), options, cancellationToken);
    }

    public Task<WriteOutcome> MarkRevokedAsync(string taskId, string? reason = null, ResultWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        // Celery stores a revoke as TaskRevokedError from celery.exceptions; a Celery reader raises it.
        WriteAsync(taskId, TaskStates.Revoked, ResultSerializer.SerializeFailure("TaskRevokedError", "celery.exceptions", [reason ?? "revoked"]), null, options, cancellationToken);

    public Task<WriteOutcome> UpdateStateAsync<TMeta>(string taskId, string state, TMeta meta, ResultWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        TaskStates.ValidateCustom(state);
        return WriteAsync(taskId, state, _serializer.SerializeFor(taskId, "meta", meta, options?.Serializer, options?.Compression), null, options, cancellationToken);
    }

    public Task<WriteOutcome> WriteAsync(TaskResult record, TimeSpan? expires = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        TaskIds.Validate(record.TaskId, nameof(record));
        TaskIds.ValidateExpires(expires, nameof(expires));
        return WriteWithRetriesAsync(record, expires, cancellationToken);
    }

    private Task<WriteOutcome> WriteAsync(string taskId, string state, ResultPayload? payload, string? traceback, ResultWriteOptions? options, CancellationToken cancellationToken)
    {
        TaskIds.Validate(taskId);
        TaskIds.ValidateExpires(options?.Expires, nameof(options));

        var record = new TaskResult
        {
            TaskId = taskId,
            State = state,
            Payload = payload,
            Traceback = traceback,
            Children = options?.Children?.ToArray(),
            GroupId = options?.GroupId,
            ParentId = options?.ParentId,
            Name = options?.Name,
            Args = EncodeArgument(taskId, "args", options?.Args),
            Kwargs = EncodeArgument(taskId, "kwargs", options?.Kwargs),
            Worker = options?.Worker,
            Retries = options?.Retries,
            Queue = options?.Queue,
        };
        return WriteWithRetriesAsync(record, options?.Expires, cancellationToken);
    }

    /// <summary>
    /// A write, sent again through another gateway when the cluster did not answer (see
    /// <see cref="ResultGridClientOptions.RetryBudget"/>). The answer is the store's: Stored or
    /// KeptSuccess (the writer recognises its own identical SUCCESS, stored by an attempt whose
    /// answer was lost, as Stored). Only when no attempt answered does it fail, saying that it
    /// could not learn whether the store has the result.
    /// </summary>
    private Task<WriteOutcome> WriteWithRetriesAsync(TaskResult record, TimeSpan? expires, CancellationToken cancellationToken) =>
        // Without a listener there is no span to wrap the attempts in: one async frame fewer per
        // write, and the write may be gathered with others (a gathered write's call carries no
        // one caller's trace, so a traced write goes alone).
        ResultGridActivity.Source.HasListeners() ? WriteSpannedAsync(record, expires, cancellationToken) : WriteGatheredAsync(record, expires, cancellationToken);

    private async Task<WriteOutcome> WriteSpannedAsync(TaskResult record, TimeSpan? expires, CancellationToken cancellationToken)
    {
        using var activity = StartClientActivity(ResultGridActivity.ClientWrite, ResultGridActivity.TaskIdTag, record.TaskId);
        activity?.SetTag(ResultGridActivity.StateTag, record.State);
        try
        {
            var outcome = await WriteAttemptsAsync(record, expires, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(ResultGridActivity.OutcomeTag, ResultGridActivity.OutcomeName(outcome));
            return outcome;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>
    /// A write gathered with the others in flight where the silos have the batch writer
    /// (<see cref="CallGathering{TItem, TResult}"/>), alone otherwise; its answer is its own either
    /// way: its outcome, or the failure it alone would have met.
    /// </summary>
    private async Task<WriteOutcome> WriteGatheredAsync(TaskResult record, TimeSpan? expires, CancellationToken cancellationToken)
    {
        var gather = _gatheredWrites.Enter();
        try
        {
            if (!gather || _routes.BatchWriter is null)
            {
                return await WriteAttemptsAsync(record, expires, cancellationToken).ConfigureAwait(false);
            }

            var reply = await _gatheredWrites.CallAsync(new ResultWrite(record, expires), cancellationToken).ConfigureAwait(false);
            if (reply.Error is { } error)
            {
                if (ClusterFailures.IsTransient(error))
                {
                    // The cluster failed this one write, not the batch: it is tried again alone, as
                    // a single write's transient failure is.
                    return await WriteAttemptsAsync(record, expires, cancellationToken).ConfigureAwait(false);
                }

                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }

            return reply.Outcome;
        }
        finally
        {
            _gatheredWrites.Exit();
        }
    }

    private Task<WriteOutcome> WriteAttemptsAsync(TaskResult record, TimeSpan? expires, CancellationToken cancellationToken) =>
        WriteRetriesAsync<WriteOutcome>(() => _writer.Value.WriteAsync(record, expires), (ex, elapsed, attempts) => throw Unanswered(record, elapsed, attempts, ex), cancellationToken);

    /// <summary>
    /// A batch of gathered writes, sent again while the cluster does not answer, as a single write
    /// is (each write is safe to repeat); when no attempt answered, each write's reply says so.
    /// </summary>
    private Task<ResultWriteReply[]> SendWritesAsync(ResultWrite[] writes) =>
        WriteRetriesAsync(
            () => _routes.BatchWriter!.WriteManyAsync(writes),
            (ex, elapsed, attempts) => Array.ConvertAll(writes, w => new ResultWriteReply(default, Unanswered(w.Result, elapsed, attempts, ex))),
            CancellationToken.None);

    /// <summary>
    /// A write's attempts: while the cluster does not answer, again within the retry budget (a
    /// repeated write changes nothing, and an answer that was lost is learned as Stored); once the
    /// budget is spent one last attempt, whose failure to be answered becomes <paramref name="unanswered"/>'s
    /// (given it, the time spent and the attempts made).
    /// </summary>
    private async Task<T> WriteRetriesAsync<T>(Func<Task<T>> call, Func<Exception, TimeSpan, int, T> unanswered, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var failures = 0;
        while (_time.GetElapsedTime(started) < _options.RetryBudget || failures == 0)
        {
            if (await Attempt(call(), limit: null, cancellationToken).ConfigureAwait(false) is { Answered: true, Value: var answer })
            {
                return answer;
            }

            await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
        }

        // The budget is spent: one last attempt, whose failure is reported as what it is.
        try
        {
            return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ClusterFailures.IsTransient(ex))
        {
            return unanswered(ex, _time.GetElapsedTime(started), failures + 1);
        }
    }

    private ResultGridUnavailableException Unanswered(TaskResult record, TimeSpan elapsed, int attempts, Exception cause) =>
        new(
            $"The {record.State} write of task '{record.TaskId}' got no answer from the cluster in {elapsed.TotalSeconds:0.#} s ({attempts} attempts; ResultGrid:Client:RetryBudget is {_options.RetryBudget}), " +
            "so whether the store has it is not known. Writing it again is safe: the same state again changes nothing and a stored SUCCESS is never replaced.",
            cause);

    private ResultPayload? EncodeArgument(string taskId, string field, object? value) => value switch
    {
        null => null,
        ResultPayload payload => payload,
        _ => _serializer.SerializeFor(taskId, field, value),
    };

    // ---- submitter ----

    public async Task<TaskHandle> SubmitAsync(string name, object? args = null, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var taskId = options?.TaskId ?? TaskIds.NewId();
        TaskIds.Validate(taskId);
        TaskIds.ValidateExpires(options?.Expires, nameof(options));
        var submission = new TaskSubmission
        {
            TaskId = taskId,
            Name = name,
            Args = EncodeArgument(taskId, "args", args),
            GroupId = options?.GroupId,
            ParentId = options?.ParentId,
            Queue = options?.Queue,
            Expires = options?.Expires,
        };
        var receipt = await _runner.Value.SubmitAsync(submission).WaitAsync(cancellationToken).ConfigureAwait(false);
        return new TaskHandle(this, receipt);
    }

    /// <summary>
    /// A span of the SDK's (kind Client), current while the call runs, so Orleans' activity
    /// propagation carries its trace into the silo; null, at the cost of a check, when nothing listens.
    /// </summary>
    private static Activity? StartClientActivity(string name, string idTag, string id)
    {
        var activity = ResultGridActivity.Source.StartActivity(name, ActivityKind.Client);
        activity?.SetTag(idTag, id);
        return activity;
    }

    private long? Deadline(TimeSpan? timeout)
    {
        if (timeout is { } t && t < TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more, null or Timeout.InfiniteTimeSpan for no limit.");
        }

        return timeout is { } limit && limit != Timeout.InfiniteTimeSpan ? _time.GetTimestamp() + (long)(limit.TotalSeconds * _time.TimestampFrequency) : null;
    }

    private TimeSpan Slice(long? deadline, bool probing = false)
    {
        var slice = probing && ProbeSlice < _options.EffectiveWaitSlice ? ProbeSlice : _options.EffectiveWaitSlice;
        if (deadline is not { } d)
        {
            return slice;
        }

        var remaining = TimeSpan.FromSeconds((double)(d - _time.GetTimestamp()) / _time.TimestampFrequency);
        return remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < slice ? remaining : slice;
    }

    private void ThrowIfPast(long? deadline, TimeSpan? timeout, string groupId, string progress)
    {
        if (deadline is { } d && _time.GetTimestamp() >= d)
        {
            throw new ResultTimeoutException($"Group '{groupId}' was not ready after {timeout!.Value.TotalSeconds:0.###} s ({progress}).");
        }
    }
}
