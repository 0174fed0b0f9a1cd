using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ResultGrid.Grains;

/// <summary>
/// The <c>ResultGrid</c> meter: results stored and read by backend and state, store errors,
/// active waiters and store latency. OpenTelemetry picks it up with <c>AddMeter("ResultGrid")</c>.
/// </summary>
internal sealed class ResultGridMetrics
{
    private readonly Counter<long> _stored;
    private readonly Counter<long> _read;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _waiters;
    private readonly Histogram<double> _storeDuration;
    private readonly Counter<long> _swept;
    private readonly Counter<long> _notificationsRetried;
    private readonly Counter<long> _notificationsAbandoned;
    private readonly Counter<long> _groupsReconciled;
    private double _oldestExpiredAge;
    private string _sweptBackend = "none";

    public ResultGridMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ResultGridMeter.Name);
        _stored = meter.CreateCounter<long>("resultgrid.results.stored", "{result}", "Results stored, by backend and state.");
        _read = meter.CreateCounter<long>("resultgrid.results.read", "{result}", "Results read, by backend and state.");
        _errors = meter.CreateCounter<long>("resultgrid.store.errors", "{error}", "Store calls that failed, by backend and operation.");
        _waiters = meter.CreateUpDownCounter<long>("resultgrid.waiters.active", "{waiter}", "Waiters held in result grains.");
        _storeDuration = meter.CreateHistogram<double>("resultgrid.store.duration", "ms", "Store call latency, by backend and operation.");
        _swept = meter.CreateCounter<long>("resultgrid.cleanup.deleted", "{result}", "Expired results deleted by sweeps, by backend.");
        _notificationsRetried = meter.CreateCounter<long>("resultgrid.notifications.retried", "{attempt}", "Deliveries to result and group grains tried again after a failure, by kind (wake, group).");
        _notificationsAbandoned = meter.CreateCounter<long>("resultgrid.notifications.abandoned", "{delivery}", "Deliveries given up after their retries, by kind; the results are stored, waiters and groups read them from the store.");
        _groupsReconciled = meter.CreateCounter<long>("resultgrid.groups.reconciled", "{child}", "Group children found READY in the store that no notification had reported.");
        meter.CreateObservableGauge(
            "resultgrid.cleanup.oldest_expired_age",
            () => new Measurement<double>(Volatile.Read(ref _oldestExpiredAge), new KeyValuePair<string, object?>("backend", _sweptBackend)),
            "s",
            "How long the oldest expired result still stored has been expired, as of the last sweep (0: none left).");
    }

    // Custom states are tagged as one value: tag cardinality must not grow with user input.
    private static string StateTag(string state) => TaskStates.IsBuiltIn(state) ? state : "custom";

    // The same events, summed in plain fields for the cluster's stats (IClusterStatsGrain): a
    // meter's instruments cannot be read back, and the silo reports these every few seconds.
    private long _writes;
    private long _reads;
    private long _waits;
    private long _activeWaiters;
    private long _storeCalls;
    private long _storeErrors;
    private long _storeMicroseconds;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _storedByState = new(StringComparer.Ordinal);

    public void Stored(string backend, string state)
    {
        var tag = StateTag(state);
        _stored.Add(1, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("state", tag));
        Interlocked.Increment(ref _writes);
        _storedByState.AddOrUpdate(tag, 1, static (_, n) => n + 1);
    }

    public void Read(string backend, string state)
    {
        _read.Add(1, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("state", StateTag(state)));
        Interlocked.Increment(ref _reads);
    }

    public void WaitStarted() => Interlocked.Increment(ref _waits);

    public void StoreError(string backend, string operation)
    {
        _errors.Add(1, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("operation", operation));
        Interlocked.Increment(ref _storeErrors);
    }

    /// <summary>This silo's counters since it started.</summary>
    public SiloCounters Snapshot(string silo, string backend, DateTimeOffset at) => new()
    {
        Silo = silo,
        Backend = backend,
        At = at,
        Writes = Interlocked.Read(ref _writes),
        Reads = Interlocked.Read(ref _reads),
        Waits = Interlocked.Read(ref _waits),
        StoreCalls = Interlocked.Read(ref _storeCalls),
        StoreMilliseconds = Interlocked.Read(ref _storeMicroseconds) / 1000.0,
        StoreErrors = Interlocked.Read(ref _storeErrors),
        ActiveWaiters = Interlocked.Read(ref _activeWaiters),
        StoredByState = new Dictionary<string, long>(_storedByState, StringComparer.Ordinal),
    };

    public void Swept(string backend, long rows) => _swept.Add(rows, new KeyValuePair<string, object?>("backend", backend));

    public void OldestExpired(string backend, double ageSeconds)
    {
        _sweptBackend = backend;
        Volatile.Write(ref _oldestExpiredAge, ageSeconds);
    }

    /// <summary>The last sweep's figure, for tests and the operator tools.</summary>
    public double OldestExpiredAgeSeconds => Volatile.Read(ref _oldestExpiredAge);

    public void NotificationRetried(string kind) => _notificationsRetried.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void NotificationAbandoned(string kind) => _notificationsAbandoned.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void GroupReconciled(int children) => _groupsReconciled.Add(children);

    public void WaiterAdded()
    {
        _waiters.Add(1);
        Interlocked.Increment(ref _activeWaiters);
    }

    public void WaiterRemoved()
    {
        _waiters.Add(-1);
        Interlocked.Decrement(ref _activeWaiters);
    }

    /// <summary>Waiters and watchers held in this silo's result grains now.</summary>
    public long ActiveWaiters => Interlocked.Read(ref _activeWaiters);

    public void StoreDuration(string backend, string operation, long startTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        _storeDuration.Record(
            elapsed.TotalMilliseconds,
            new KeyValuePair<string, object?>("backend", backend),
            new KeyValuePair<string, object?>("operation", operation));
        Interlocked.Increment(ref _storeCalls);
        Interlocked.Add(ref _storeMicroseconds, (long)(elapsed.Ticks / 10));
    }
}
