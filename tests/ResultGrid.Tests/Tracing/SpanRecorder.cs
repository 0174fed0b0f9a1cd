using System.Collections.Concurrent;
using System.Diagnostics;

namespace ResultGrid.Tests;

/// <summary>
/// A real <see cref="ActivityListener"/> on ResultGrid's source, Orleans' and the tests' own,
/// recording every span (all data, sampled) as it starts and stops. Listeners are process-wide and
/// other tests run beside these, so a test starts its own root span with <see cref="StartRoot"/>
/// and looks only at the spans of that trace.
/// </summary>
internal sealed class SpanRecorder : IDisposable
{
    // A constant: the listener asks about every source, this one too while it is being made.
    private const string TestsSourceName = "ResultGrid.Tests.Tracing";

    /// <summary>The tests' own source, for the root span that a test's calls run under.</summary>
    public static readonly ActivitySource Tests = new(TestsSourceName);

    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _started = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ResultGridActivity.Name || s.Name == TestsSourceName || s.Name.StartsWith("Microsoft.Orleans.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = _started.Enqueue,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>A root span of a new trace, current until disposed.</summary>
    public static Activity StartRoot(string name) =>
        Tests.StartActivity(name, ActivityKind.Internal, parentContext: default) ?? throw new InvalidOperationException("the recorder does not listen");

    /// <summary>The finished spans of <paramref name="trace"/>.</summary>
    public IReadOnlyList<Activity> Spans(ActivityTraceId trace) => _stopped.Where(a => a.TraceId == trace).ToArray();

    /// <summary>Waits until a finished span of <paramref name="trace"/> matches <paramref name="match"/>; returns it.</summary>
    public async Task<Activity> WaitForSpan(ActivityTraceId trace, string name, Func<Activity, bool>? match = null, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Spans(trace).FirstOrDefault(a => a.OperationName == name && (match is null || match(a))) is { } found)
            {
                return found;
            }

            Assert.True(clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)), $"no finished span '{name}' in trace {trace}; seen: {Describe(trace)}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Waits until a span of <paramref name="trace"/> named <paramref name="name"/> has started and holds event <paramref name="eventName"/>.</summary>
    public async Task WaitForEvent(ActivityTraceId trace, string name, string eventName, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!_started.Any(a => a.TraceId == trace && a.OperationName == name && HasEvent(a, eventName)))
        {
            Assert.True(clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)), $"no span '{name}' with event '{eventName}' in trace {trace}; seen: {Describe(trace)}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Whether <paramref name="ancestor"/> is <paramref name="span"/>'s parent, or its parent's, and so on, among the finished spans.</summary>
    public bool Descends(Activity span, Activity ancestor)
    {
        var bySpan = Spans(span.TraceId).ToDictionary(a => a.SpanId);
        var current = span;
        for (var depth = 0; depth < 64; depth++)
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }

            if (!bySpan.TryGetValue(current.ParentSpanId, out var parent))
            {
                return false;
            }

            current = parent;
        }

        return false;
    }

    public static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    public static bool HasEvent(Activity span, string name)
    {
        try
        {
            return span.Events.Any(e => e.Name == name);
        }
        catch (InvalidOperationException)
        {
            // Read while the grain adds one: the next look sees it.
            return false;
        }
    }

    private string Describe(ActivityTraceId trace) => string.Join(", ", Spans(trace).Select(a => a.OperationName).Distinct());

    public void Dispose() => _listener.Dispose();
}
