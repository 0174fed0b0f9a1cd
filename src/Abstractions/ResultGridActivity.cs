using System.Diagnostics;

namespace ResultGrid;

/// <summary>
/// The one <see cref="ActivitySource"/> of ResultGrid's spans, in the SDK and the silo alike
/// (<c>AddSource("ResultGrid")</c> in OpenTelemetry), with its span and tag names. Every span is
/// started with <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>, which returns
/// null when nothing listens: tags are set only on a span that exists, so tracing off costs a
/// null check.
/// </summary>
public static class ResultGridActivity
{
    /// <summary>The source's name, the meter's too (<see cref="ResultGridMeter.Name"/>).</summary>
    public const string Name = ResultGridMeter.Name;

    /// <summary>The source every ResultGrid span is started from.</summary>
    public static ActivitySource Source { get; } = new(Name, typeof(ResultGridActivity).Assembly.GetName().Version?.ToString());

    // ---- span names ----

    /// <summary>SDK: a write (store a result, mark started, succeeded, failed, retry, revoked, update state); kind Client.</summary>
    public const string ClientWrite = "resultgrid.client.write";

    /// <summary>SDK: a read of one result; kind Client.</summary>
    public const string ClientGet = "resultgrid.client.get";

    /// <summary>SDK: a wait for one result, over all its slices; kind Client.</summary>
    public const string ClientWait = "resultgrid.client.wait";

    /// <summary>SDK: a group join (or a wait for a group), over all its slices; kind Client.</summary>
    public const string ClientJoin = "resultgrid.client.join";

    /// <summary>Silo: a write through the writer (validate, store, notify).</summary>
    public const string Write = "resultgrid.write";

    /// <summary>Silo: one call to the store (tag <see cref="OperationTag"/>).</summary>
    public const string Store = "resultgrid.store";

    /// <summary>Silo: the delivery of a stored write (waking its waiters, telling its group).</summary>
    public const string Notify = "resultgrid.notify";

    /// <summary>Silo: a task's grain handing a READY result to its parked waiters.</summary>
    public const string Wake = "resultgrid.wake";

    /// <summary>Silo: one wait slice in a task's grain (events <c>parked</c>, then <c>woken</c> or <c>timed out</c>).</summary>
    public const string Wait = "resultgrid.wait";

    /// <summary>Silo: one join slice in a group's grain.</summary>
    public const string GroupJoin = "resultgrid.group.join";

    /// <summary>Silo: a chord's trigger (its claim, then the body started or its FAILURE stored).</summary>
    public const string ChordTrigger = "resultgrid.chord.trigger";

    /// <summary>Silo: a sweep of expired results.</summary>
    public const string Sweep = "resultgrid.sweep";

    // ---- tag names ----

    /// <summary>The task's id.</summary>
    public const string TaskIdTag = "resultgrid.task_id";

    /// <summary>The group's (or chord's) id.</summary>
    public const string GroupIdTag = "resultgrid.group_id";

    /// <summary>The backend's scheme: <c>redis</c>, <c>postgresql</c>, <c>memory</c>, ...</summary>
    public const string BackendTag = "resultgrid.backend";

    /// <summary>The state written, read or waited for: <c>SUCCESS</c>, <c>PENDING</c>, ...</summary>
    public const string StateTag = "resultgrid.state";

    /// <summary>What came of it: a write's <see cref="WriteOutcome"/> (<c>stored</c>, <c>keptSuccess</c>, <c>alreadyConsumed</c>), a wait's (<c>ready</c>, <c>woken</c>, <c>timedOut</c>, <c>consumed</c>), a chord's (<c>started</c>, <c>failed</c>, <c>lost</c>), a sweep's (<c>swept</c>, <c>unsupported</c>).</summary>
    public const string OutcomeTag = "resultgrid.outcome";

    /// <summary>The store operation: <c>write</c>, <c>read</c>, <c>consume</c>, <c>claim</c>, <c>sweep</c>, ...</summary>
    public const string OperationTag = "resultgrid.operation";

    /// <summary>A wait: whether a notification woke it (false: it was ready at once, or timed out).</summary>
    public const string WokenTag = "resultgrid.woken";

    /// <summary>A wake: how many waiters and watchers it completed.</summary>
    public const string WaitersTag = "resultgrid.waiters";

    /// <summary>A notification: <c>wake</c> or <c>group</c>.</summary>
    public const string DeliveryTag = "resultgrid.delivery";

    /// <summary>A chord trigger: <c>won</c> (this activation claimed it now), <c>held</c> (it had claimed it before), <c>lost</c> (another did).</summary>
    public const string ClaimTag = "resultgrid.chord.claim";

    /// <summary>A group join: the children READY and in all.</summary>
    public const string CompletedTag = "resultgrid.group.completed";

    /// <inheritdoc cref="CompletedTag"/>
    public const string TotalTag = "resultgrid.group.total";

    /// <summary>A sweep: the expired results deleted.</summary>
    public const string DeletedTag = "resultgrid.sweep.deleted";

    /// <summary>A sweep: the batches it took.</summary>
    public const string BatchesTag = "resultgrid.sweep.batches";

    /// <summary>The tag value of a write's outcome, without allocating.</summary>
    public static string OutcomeName(WriteOutcome outcome) => outcome switch
    {
        WriteOutcome.Stored => "stored",
        WriteOutcome.KeptSuccess => "keptSuccess",
        WriteOutcome.AlreadyConsumed => "alreadyConsumed",
        _ => "unknown",
    };

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="exception"/>'s type and message (OpenTelemetry's exception attributes).</summary>
    public static void Failed(Activity? activity, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.AddTag("exception.type", exception.GetType().FullName);
        activity.AddTag("exception.message", exception.Message);
    }
}
