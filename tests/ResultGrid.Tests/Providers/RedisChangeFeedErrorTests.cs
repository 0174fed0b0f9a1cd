using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResultGrid.Storage;

namespace ResultGrid.Tests.Providers;

/// <summary>
/// The Redis change feed with a callback that fails: the failure is a warning naming the task,
/// never dropped or left as an unobserved task, and the subscription goes on delivering. Against
/// a real redis-server, with the store made the way a silo makes it (the provider, from DI).
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisChangeFeedErrorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly RedisServer _server = new();
    private readonly CapturedLogs _logs = new();
    private ServiceProvider _services = null!;
    private IResultStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var url = await _server.UrlAsync();
        _services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging(logging => logging.AddProvider(_logs))
            .AddRedisResultStore()
            .BuildServiceProvider();
        _store = new ResultStoreProviderRegistry(_services.GetServices<IResultStoreProvider>()).Create(_services, "change-feed-errors", url);
        await _store.InitializeAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is IAsyncDisposable store)
        {
            await store.DisposeAsync();
        }

        await _services.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData("throws")]
    [InlineData("returns a faulted task")]
    public async Task A_failing_callback_is_logged_with_its_task_id_and_later_changes_still_arrive(string failure)
    {
        var feed = _store.Capability<IResultChangeFeed>();
        Assert.NotNull(feed);
        var id = $"feed-error-{Guid.NewGuid():N}";
        var error = new InvalidOperationException($"the callback {failure}, on purpose");
        var failingCalls = 0;
        Func<TaskResult, Task> failing = failure == "throws"
            ? _ =>
            {
                Interlocked.Increment(ref failingCalls);
                throw error;
            }
            : _ =>
            {
                Interlocked.Increment(ref failingCalls);
                return Task.FromException(error);
            };

        await using var first = await feed.WatchAsync(id, failing);
        await _store.WriteAsync(Result(id, TaskStates.Started), Ct);
        await WaitUntilAsync(() => Warnings(id, error) >= 1, $"a warning naming task {id} with the callback's exception");

        // A second watcher of the same task, on the same subscriber: the next change reaches it,
        // and the failing callback is still called (its subscription was not dropped).
        var delivered = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var second = await feed.WatchAsync(id, changed =>
        {
            delivered.TrySetResult(changed);
            return Task.CompletedTask;
        });
        await _store.WriteAsync(Result(id, TaskStates.Success), Ct);

        var seen = await delivered.Task.WaitAsync(Patience, Ct);
        Assert.Equal(TaskStates.Success, seen.State);
        Assert.Equal(id, seen.TaskId);
        await WaitUntilAsync(() => Warnings(id, error) >= 2, "a second warning for the failing callback's second call");
        Assert.Equal(2, Volatile.Read(ref failingCalls));
    }

    private int Warnings(string taskId, Exception error) =>
        _logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains(taskId, StringComparison.Ordinal) && ReferenceEquals(e.Exception, error));

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited {Patience.TotalSeconds} s for {what}; logged: {string.Join(" | ", _logs.Entries.Select(e => $"{e.Level} {e.Message}"))}");
            await Task.Delay(20, Ct);
        }
    }

    private static TaskResult Result(string id, string state) => new()
    {
        TaskId = id,
        State = state,
        Payload = new ResultPayload { Data = "42"u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = state == TaskStates.Success ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
    };

    private sealed record LogEntry(string Category, LogLevel Level, string Message, Exception? Exception);

    /// <summary>Every entry of every logger the store's factory makes, as written.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyCollection<LogEntry> Entries => _entries.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs._entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception), exception));
        }
    }
}
