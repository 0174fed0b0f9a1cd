using System.Diagnostics;
using Microsoft.Extensions.Options;
using ResultGrid.Serialization;

namespace ResultGrid.Client;

// Calls the cluster may fail to answer: attempts, resends of idempotent calls, back-off.
internal sealed partial class ResultGridClient
{
    // ---- calls the cluster may fail to answer ----

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);

    // A wait call that the cluster failed to answer may be issued again into the same hole: a
    // call parked on a silo that died is answered by nobody (no silo holds its callback; the
    // client's own is failed only at the 30 s response timeout, and a dropped gateway is only
    // noticed for the connection that closed). So every wait call is given up this long after
    // its slice should have ended, and after a failure the slices are short until the cluster
    // answers again: a fail-over costs a few seconds, not a slice or a response timeout.
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeSlice = TimeSpan.FromSeconds(1);

    // A short slice gets a short grace: a call given up too early is only issued again, while
    // one left in a dead silo's hole delays the wake by all of it.
    private static TimeSpan Grace(TimeSpan slice) => slice <= ProbeSlice ? ProbeSlice : AnswerGrace;

    // While the cluster settles after a failure (activations and index partitions moving, the
    // directory catching up), a wake can still go astray; every wait of this process then uses
    // ProbeSlice, so a lost wake costs a second (each slice reads the store first), not a slice.
    // The fault suite saw waits re-parked on new activations sleep a whole 20 s slice.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private long _unsettledUntil;

    private bool Unsettled => _time.GetTimestamp() < Volatile.Read(ref _unsettledUntil);

    private void MarkUnsettled() =>
        Volatile.Write(ref _unsettledUntil, _time.GetTimestamp() + (long)(Settle.TotalSeconds * _time.TimestampFrequency));

    // Other calls (a write, a read) carry no limit of their own: a timer per call would cost
    // the write path, and they are short, so only a call in flight at the instant its silo
    // dies is stranded; the client's connection to that silo drops with it and GatewayLossSignal
    // releases the call (the writer runs on the silo whose gateway received the write).
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One call: its result, or null when the cluster did not answer (a transient failure, or a
    /// gateway connection that dropped while it was in flight). The caller's cancellation and
    /// every error a grain raised pass through.
    /// </summary>
    private async Task<Answer<T>> Attempt<T>(Task<T> call, TimeSpan? limit, CancellationToken cancellationToken)
    {
        if (_gatewayLoss is not { IsClientProcess: true } signal)
        {
            // Inside a silo: a call to a silo that dies is failed by this silo's own membership
            // view within the detection time, so no limit (and no timer per call) is needed.
            try
            {
                return new(true, await (cancellationToken.CanBeCanceled ? call.WaitAsync(cancellationToken) : call).ConfigureAwait(false));
            }
            catch (Exception ex) when (ClusterFailures.IsTransient(ex) || GaveUp(ex, cancellationToken))
            {
                MarkUnsettled();
                return default;
            }
        }

        var lost = signal.Token;
        try
        {
            // The limit's TimeoutException counts as "no answer", like Orleans' own.
            var answered = limit is { } bound ? call.WaitAsync(bound, _time, lost) : call.WaitAsync(lost);
            return new(true, await (cancellationToken.CanBeCanceled ? answered.WaitAsync(cancellationToken) : answered).ConfigureAwait(false));
        }
        catch (Exception ex) when ((ex is OperationCanceledException && lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested) || (ClusterFailures.IsTransient(ex) && !call.IsCompleted))
        {
            // Given up (a dropped gateway, or no answer in time): the call may still end, at the
            // response timeout; observe it then, so its failure is never unobserved.
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            MarkUnsettled();
            return default;
        }
        catch (Exception ex) when (ClusterFailures.IsTransient(ex) || GaveUp(ex, cancellationToken))
        {
            MarkUnsettled();
            return default;
        }
    }

    /// <summary>
    /// Orleans cancelled the call itself, not the caller: "Message expired before placement could
    /// complete", seen in the fault suite while a dead silo's grains were being placed again.
    /// </summary>
    private static bool GaveUp(Exception exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>A call's value, or <see cref="Answered"/> false when the cluster gave none.</summary>
    private readonly record struct Answer<T>(bool Answered, T Value);

    /// <summary>An idempotent call, sent again while the cluster does not answer, within the retry budget.</summary>
    private async Task<T> Idempotent<TGrain, T>(TGrain grain, Func<TGrain, Task<T>> call, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var failures = 0;
        while (true)
        {
            if (_time.GetElapsedTime(started) >= _options.RetryBudget && failures > 0)
            {
                // The last attempt, outside the budget: its own failure is the answer.
                return await call(grain).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (await Attempt(call(grain), limit: null, cancellationToken).ConfigureAwait(false) is { Answered: true } answer)
            {
                return answer.Value;
            }

            await Backoff(ref failures, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits before the next attempt: 50 ms doubling to 1 s, with jitter, so callers that failed together do not return together.</summary>
    private Task Backoff(ref int failures, CancellationToken cancellationToken)
    {
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(failures, 10));
        if (delay > MaxRetryDelay)
        {
            delay = MaxRetryDelay;
        }

        failures++;
        return Task.Delay(delay * (0.5 + (Random.Shared.NextDouble() / 2)), _time, cancellationToken);
    }
}
