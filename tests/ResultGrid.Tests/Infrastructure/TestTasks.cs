using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace ResultGrid.Tests;

/// <summary>Tasks registered on every test silo.</summary>
public static class TestTasks
{
    /// <summary>Gates for test.slow, by task id: the task runs until the test opens its gate.</summary>
    public static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();

    /// <summary>Runs per task id of test.flaky.</summary>
    public static readonly ConcurrentDictionary<string, int> Attempts = new();

    /// <summary>Runs per task id of test.concat (chord bodies): a body must run exactly once.</summary>
    public static readonly ConcurrentDictionary<string, int> BodyRuns = new();

    public static TaskCompletionSource Gate(string taskId) =>
        Gates.GetOrAdd(taskId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public static void Register(IServiceCollection services)
    {
        services.AddResultGridTask<AddArgs, int>("test.add", (a, _) => Task.FromResult(a.A + a.B));
        services.AddResultGridTask<int, int>("test.square", (n, _) => Task.FromResult(n * n));
        services.AddResultGridTask<int[], string>("test.concat", (values, ctx) =>
        {
            BodyRuns.AddOrUpdate(ctx.TaskId, 1, (_, n) => n + 1);
            return Task.FromResult(string.Join(',', values));
        });
        services.AddResultGridTask<string, int>("test.fail", (message, _) => throw new InvalidOperationException(message));
        services.AddResultGridTask<int, string>(
            "test.flaky",
            (failures, ctx) => Attempts.AddOrUpdate(ctx.TaskId, 1, (_, n) => n + 1) <= failures
                ? throw new TimeoutException($"attempt {ctx.Retries + 1} timed out")
                : Task.FromResult($"ok after {ctx.Retries} retries"),
            o =>
            {
                o.MaxRetries = 3;
                o.RetryDelay = TimeSpan.FromMilliseconds(20);
                o.RetryOn = ex => ex is TimeoutException;
            });
        services.AddResultGridTask<int, string>(
            "test.slow",
            async (_, ctx) =>
            {
                await Gate(ctx.TaskId).Task;
                return "done";
            },
            o => o.TrackStarted = true);
        services.AddResultGridTask<int, string>(
            "test.progress",
            async (steps, ctx) =>
            {
                await ctx.UpdateStateAsync("PROGRESS", new ProgressMeta(1, steps));
                await Gate(ctx.TaskId).Task;
                return "done";
            });
        services.AddResultGridTask<int, byte[]>(
            "test.huge",
            (megabytes, ctx) =>
            {
                Attempts.AddOrUpdate(ctx.TaskId, 1, (_, n) => n + 1);
                return Task.FromResult(new byte[megabytes * 1024 * 1024]);
            },
            o =>
            {
                o.MaxRetries = 2;
                o.RetryDelay = TimeSpan.FromMilliseconds(10);
            });
        services.AddResultGridTask<AddArgs, int>("test.ignored", (a, _) => Task.FromResult(a.A + a.B), o => o.IgnoreResult = true);
        services.AddResultGridTask<AddArgs, int>("test.stored", (a, _) => Task.FromResult(a.A + a.B), o => o.IgnoreResult = false);
        services.AddResultGridTask<string, int>(
            "test.ignored-fail",
            (message, _) => throw new ArgumentException(message),
            o =>
            {
                o.IgnoreResult = true;
                o.StoreErrorsEvenIfIgnored = true;
            });
    }
}
