using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// Deletes expired results of one store (key: the store's name) in bounded batches on the
/// expires-at index. One reminder drives it, whatever the number of results; a sweep can also be
/// run on demand. Stores with native expiry (Redis, memory) have nothing for it to do.
/// </summary>
internal sealed partial class ResultSweeperGrain(
    ResultStores stores,
    IOptions<ResultCleanupOptions> options,
    ResultGridMetrics metrics,
    TimeProvider time,
    ILogger<ResultSweeperGrain> logger) : Grain, IResultSweeperGrain, IRemindable
{
    public const string ReminderName = "resultgrid-sweep";

    private readonly ResultCleanupOptions _options = options.Value;
    private Task<SweepReport>? _running;
    private DateTimeOffset _runningFrom;
    private Task<SweepReport>? _followUp;

    public Task<SweepReport?> SweepNowAsync(TimeSpan maxWait) => SweepNowAsync(maxWait, time.GetUtcNow());

    public async Task<SweepReport?> SweepNowAsync(TimeSpan maxWait, DateTimeOffset askedAt)
    {
        var asked = askedAt;

        // A sweep already running only deletes what had expired when it began: a caller who asks
        // later gets the sweep after it, so everything expired before the call is covered.
        var sweep = _running is null || _runningFrom >= asked ? _running ??= Start() : _followUp ??= AfterAsync(_running);
        try
        {
            return await sweep.WaitAsync(maxWait, time);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private Task<SweepReport> Start()
    {
        _runningFrom = time.GetUtcNow();
        return RunAsync();
    }

    private async Task<SweepReport> AfterAsync(Task<SweepReport> previous)
    {
        try
        {
            await previous;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Its failure was its callers'; this sweep is a new attempt.
        }

        _followUp = null;
        return await (_running ??= Start());
    }

    private async Task<SweepReport> RunAsync()
    {
        // Never complete synchronously: the caller stores this task in _running first, and the
        // finally below must clear it after that.
        await Task.Yield();
        try
        {
            return await SweepAsync();
        }
        finally
        {
            _running = null;
        }
    }

    private async Task<SweepReport> SweepAsync()
    {
        using var activity = ResultGridActivity.Source.StartActivity(ResultGridActivity.Sweep);
        activity?.SetTag(ResultGridActivity.BackendTag, stores.Default.Backend);
        try
        {
            var report = await SweepStoreAsync();
            activity?.SetTag(ResultGridActivity.OutcomeTag, report.Swept ? "swept" : "unsupported")
                .SetTag(ResultGridActivity.DeletedTag, report.Deleted)
                .SetTag(ResultGridActivity.BatchesTag, report.Batches);
            return report;
        }
        catch (Exception ex)
        {
            ResultGridActivity.Failed(activity, ex);
            throw;
        }
    }

    private async Task<SweepReport> SweepStoreAsync()
    {
        var store = stores.Default;
        if (!store.TryGetCapability<IExpiredResultSweep>(out var sweep))
        {
            return new SweepReport { Backend = store.Backend, Swept = false };
        }

        // Everything expired when the sweep began; rows expiring during it wait for the next one.
        var (deleted, batches, duration) = await ExpiredResults.SweepAsync(
            sweep,
            time.GetUtcNow(),
            _options.BatchSize,
            _options.MaxDuration,
            _options.PauseBetweenBatches,
            time,
            batch => StoreCall.Run(store, metrics, logger, "sweep", StoreCall.AllTasks, batch),
            rows => metrics.Swept(store.Backend, rows));

        var after = time.GetUtcNow();
        var oldest = await StoreCall.Run(store, metrics, logger, "sweep", StoreCall.AllTasks, () => sweep.OldestExpiredAsync(after));
        metrics.OldestExpired(store.Backend, oldest is { } o ? (after - o).TotalSeconds : 0);
        LogSwept(logger, store.Backend, deleted, batches, duration.TotalMilliseconds, oldest?.ToString("O") ?? "none");
        return new SweepReport { Backend = store.Backend, Swept = true, Deleted = deleted, Batches = batches, Duration = duration, OldestExpiredRemaining = oldest };
    }

    public async Task EnsureScheduledAsync()
    {
        if (!_options.Enabled || !stores.Default.Has<IExpiredResultSweep>())
        {
            if (await this.GetReminder(ReminderName) is { } existing)
            {
                await this.UnregisterReminder(existing);
            }

            return;
        }

        var (due, period) = Schedule(time.GetUtcNow());
        await this.RegisterOrUpdateReminder(ReminderName, due, period);
        LogScheduled(logger, stores.Default.Backend, due.ToString(), period.ToString());
    }

    /// <summary>Every <see cref="ResultCleanupOptions.Interval"/>, or daily at <see cref="ResultCleanupOptions.DailyAt"/> (UTC).</summary>
    internal (TimeSpan Due, TimeSpan Period) Schedule(DateTimeOffset now)
    {
        if (_options.DailyTime is not { } at)
        {
            return (_options.Interval, _options.Interval);
        }

        var today = new DateTimeOffset(DateOnly.FromDateTime(now.UtcDateTime).ToDateTime(at), TimeSpan.Zero);
        var next = today > now ? today : today.AddDays(1);
        return (next - now, TimeSpan.FromDays(1));
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName)
        {
            // Not awaited: a long sweep must not hold the reminder's call past its timeout.
            _running ??= Start();
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Information, "Swept {Backend}: {Deleted} expired results deleted in {Batches} batches, {Milliseconds} ms; oldest expired left: {Oldest}")]
    private static partial void LogSwept(ILogger logger, string backend, long deleted, int batches, double milliseconds, string oldest);

    [LoggerMessage(2, LogLevel.Information, "Sweep of {Backend} scheduled: first in {Due}, then every {Period}")]
    private static partial void LogScheduled(ILogger logger, string backend, string due, string period);
}
