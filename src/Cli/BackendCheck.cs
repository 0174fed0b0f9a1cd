using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Storage;
using Spectre.Console;

namespace ResultGrid.Cli;

/// <summary>One line of a check: what was tried, pass / warn / fail / skip, and why.</summary>
internal sealed record CheckLine(string Name, string Outcome, string Detail);

/// <summary>
/// <c>resultgrid check URL</c>: builds the same store a silo would (same providers, options from
/// the environment) and exercises it. Exit code 0 when nothing failed (warnings allowed), 1 when
/// a check failed, 2 when the URL itself is not usable.
/// </summary>
internal static class BackendCheck
{

    public static async Task<int> RunAsync(string url, bool json, CancellationToken cancellationToken)
    {
        await using var opened = await CliStore.CreateAsync("check", url, allowAdmin: true);
        if (opened.Store is not { } store)
        {
            return 2;
        }

        var lines = await ExerciseAsync(store, cancellationToken);

        var passed = lines.All(l => l.Outcome != "fail");
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(
                new
                {
                    backend = opened.Redacted,
                    passed,
                    checks = lines.Select(l => new { name = l.Name, outcome = l.Outcome, detail = l.Detail }),
                },
                CliJson.Options));
        }
        else
        {
            var table = new Table().AddColumn("check").AddColumn("result").AddColumn("detail");
            foreach (var line in lines)
            {
                var colour = line.Outcome switch { "pass" => "green", "warn" => "yellow", "fail" => "red", _ => "grey" };
                table.AddRow(Markup.Escape(line.Name), $"[{colour}]{line.Outcome}[/]", Markup.Escape(line.Detail));
            }

            AnsiConsole.MarkupLine($"Backend [bold]{Markup.Escape(opened.Redacted)}[/]");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(passed ? "[green]All checks passed.[/]" : "[red]Some checks failed.[/]");
        }

        return passed ? 0 : 1;
    }

    private static ResultPayload Json(string text) => new() { Data = Encoding.UTF8.GetBytes(text), ContentType = "application/json", ContentEncoding = "utf-8" };

    internal static string Reason(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (!parts.Any(p => p.Contains(e.Message, StringComparison.Ordinal)))
            {
                parts.Add(e.Message);
            }
        }

        return string.Join(" — ", parts);
    }

    private static async Task<List<CheckLine>> ExerciseAsync(IResultStore store, CancellationToken cancellationToken)
    {
        var lines = new List<CheckLine>();
        var clock = Stopwatch.StartNew();
        try
        {
            await store.InitializeAsync(cancellationToken);
            lines.Add(new CheckLine("connect", "pass", $"{store.Backend}, ready in {clock.ElapsedMilliseconds} ms"));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lines.Add(new CheckLine("connect", "fail", Reason(ex)));
            lines.Add(new CheckLine("the rest", "skip", "nothing more can be checked without a connection"));
            return lines;
        }

        var id = $"resultgrid-check-{Guid.NewGuid():N}";
        await Step(lines, "write and read back", async () =>
        {
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Started }, cancellationToken);
            var value = Json($$"""{"check":"resultgrid","at":"{{DateTimeOffset.UtcNow:O}}"}""");
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, Payload = value, DateDone = DateTimeOffset.UtcNow, ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5) }, cancellationToken);
            var read = await store.ReadAsync(id, cancellationToken);
            return read is { State: TaskStates.Success } && read.Payload!.Data.AsSpan().SequenceEqual(value.Data) && read.Payload.ContentType == value.ContentType
                ? ("pass", $"SUCCESS with {value.Data.Length} bytes of {value.ContentType} read back intact")
                : ("fail", $"read back {read?.State ?? "nothing"}, not the SUCCESS just written");
        });
        await Step(lines, "never overwrite SUCCESS", async () =>
        {
            var outcome = await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Failure, Payload = Json("""{"exc_type":"Late"}""") }, cancellationToken);
            var read = await store.ReadAsync(id, cancellationToken);
            return outcome.Outcome == WriteOutcome.KeptSuccess && read?.State == TaskStates.Success
                ? ("pass", "a later FAILURE was refused; SUCCESS stays")
                : ("fail", $"the later write was {outcome.Outcome} and the result reads {read?.State}: SUCCESS was replaced");
        });
        await Step(lines, "expiry honoured", async () =>
        {
            var shortLived = id + "-ttl";
            await store.WriteAsync(new TaskResult { TaskId = shortLived, State = TaskStates.Success, ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(1) }, cancellationToken);
            var before = await store.ReadAsync(shortLived, cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(1500), cancellationToken);
            var after = await store.ReadAsync(shortLived, cancellationToken);
            await store.ForgetAsync(shortLived, cancellationToken);
            return before is not null && after is null
                ? ("pass", "a result with a 1 s time to live was there, then gone after 1.5 s")
                : ("fail", before is null ? "a result with a 1 s time to live could not be read at once" : "a result with a 1 s time to live was still returned after 1.5 s");
        });
        await Step(lines, "waiter woken", async () =>
        {
            if (!store.TryGetCapability<IResultChangeFeed>(out var feed))
            {
                return ("skip", $"{store.Backend} has no change feed of its own: in a cluster, waiters are woken by the silo that writes");
            }

            var watched = id + "-wait";
            var woke = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (await feed.WatchAsync(watched, r =>
            {
                woke.TrySetResult(r);
                return Task.CompletedTask;
            }))
            {
                var start = Stopwatch.GetTimestamp();
                await store.WriteAsync(new TaskResult { TaskId = watched, State = TaskStates.Success, ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1) }, cancellationToken);
                try
                {
                    await woke.Task.WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
                    return ("pass", $"woken {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F1} ms after the write");
                }
                catch (TimeoutException)
                {
                    return ("fail", "a watcher of the result was not told of the write within 3 s");
                }
                finally
                {
                    await store.ForgetAsync(watched, cancellationToken);
                }
            }
        });
        await Step(lines, "round-trip latency", async () =>
        {
            var samples = new List<double>();
            for (var i = 0; i < 50; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await store.ReadAsync(id, cancellationToken);
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            samples.Sort();
            return ("pass", $"read by id: p50 {samples[24]:F2} ms, p99 {samples[49]:F2} ms over 50 reads");
        });
        await Step(lines, "forget", async () =>
        {
            var forgot = await store.ForgetAsync(id, cancellationToken);
            var read = await store.ReadAsync(id, cancellationToken);
            return forgot && read is null ? ("pass", "deleted, and reads as nothing") : ("fail", "the result is still there after forget");
        });

        if (store.TryGetCapability<IBackendDiagnostics>(out var diagnostics))
        {
            try
            {
                foreach (var fact in await diagnostics.DescribeAsync(cancellationToken))
                {
                    var outcome = fact.Level switch { FactLevel.Ok => "pass", FactLevel.Warning => "warn", _ => "fail" };
                    lines.Add(new CheckLine(fact.Name, outcome, fact.Advice is null ? fact.Value : $"{fact.Value}. {fact.Advice}"));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lines.Add(new CheckLine("server facts", "warn", "could not be read: " + Reason(ex)));
            }
        }

        return lines;
    }

    private static async Task Step(List<CheckLine> lines, string name, Func<Task<(string Outcome, string Detail)>> step)
    {
        try
        {
            var (outcome, detail) = await step();
            lines.Add(new CheckLine(name, outcome, detail));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            lines.Add(new CheckLine(name, "fail", Reason(ex)));
        }
    }
}
