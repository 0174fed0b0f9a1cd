using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ResultGrid.Storage;
using ResultGrid.Storage.Migration;
using Spectre.Console;

namespace ResultGrid.Cli;

/// <summary>
/// <c>resultgrid migrate --from URL --to URL</c>: copies every unexpired result and group with its
/// remaining TTL, in pages, resumably (a state file records the last page copied), then
/// verifies the copy record by record. Exit 0 when the verify pass found nothing missing or
/// different, 1 when it did or the copy failed, 2 when a URL is not usable.
/// </summary>
internal static class MigrateCommand
{
    public sealed record Arguments(string From, string To, int BatchSize, int Parallelism, string? StatePath, bool VerifyOnly, bool NoVerify, bool Json);

    public static async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        // The source is only read: a mistyped table or schema name must fail, not create empty
        // tables and "copy" nothing from them.
        await using var from = await CliStore.CreateAsync("migrate", args.From, readOnly: true);
        if (from.Store is null)
        {
            return 2;
        }

        await using var to = await CliStore.CreateAsync("migrate", args.To);
        if (to.Store is null)
        {
            return 2;
        }

        if (string.Equals(BackendUrl.Parse(args.From).Original, BackendUrl.Parse(args.To).Original, StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"resultgrid migrate: --from and --to are the same backend ({from.Redacted}); give two different ones.");
            return 2;
        }

        foreach (var (side, opened) in new[] { ("--from", from), ("--to", to) })
        {
            if (opened.Store is not { } store || !store.Has<IResultTransfer>())
            {
                await Console.Error.WriteLineAsync($"resultgrid migrate: {side} {opened.Redacted}: this backend cannot be copied in bulk; redis://, rediss:// and db+ backends can.");
                return 2;
            }
        }

        if (!await from.ConnectAsync("migrate", cancellationToken) || !await to.ConnectAsync("migrate", cancellationToken))
        {
            return 1;
        }

        var statePath = Path.GetFullPath(args.StatePath ?? DefaultStatePath(from.Redacted, to.Redacted));
        var settings = new MigrationSettings { BatchSize = args.BatchSize, Parallelism = args.Parallelism, StatePath = statePath };
        var source = from.Store!.Capability<IResultTransfer>()!;
        var migration = new ResultMigration(source, to.Store!.Capability<IResultTransfer>()!, to.Store, TimeProvider.System);
        var report = new Dictionary<string, object?> { ["from"] = from.Redacted, ["to"] = to.Redacted };
        var failed = false;

        long estimate;
        try
        {
            estimate = await source.EstimateResultCountAsync(cancellationToken);
        }
        catch (Exception)
        {
            // Only the progress bar's total (a COUNT that times out, a Redis user without
            // DBSIZE): the copy does without it (and, interrupted, says so itself).
            estimate = 0;
        }

        if (!args.VerifyOnly)
        {
            MigrationState state;
            try
            {
                state = MigrationState.LoadOrStart(statePath, from.Redacted, to.Redacted, DateTimeOffset.UtcNow);
            }
            catch (InvalidOperationException ex)
            {
                await Console.Error.WriteLineAsync($"resultgrid migrate: {ex.Message}");
                return 2;
            }

            var resumed = state.Runs > 0;
            var scannedBefore = state.ResultsScanned;
            if (!args.Json)
            {
                AnsiConsole.MarkupLine(resumed
                    ? $"Resuming the copy from {Markup.Escape(from.Redacted)} to {Markup.Escape(to.Redacted)} after {state.ResultsScanned:N0} results ([grey]{Markup.Escape(statePath)}[/])."
                    : $"Copying from {Markup.Escape(from.Redacted)} to {Markup.Escape(to.Redacted)} ([grey]state: {Markup.Escape(statePath)}[/]).");
            }


            var clock = Stopwatch.StartNew();
            try
            {
                await WithProgressAsync(args.Json, "copy", estimate, progress => migration.CopyAsync(state, settings, progress, cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"resultgrid migrate: interrupted after {state.ResultsScanned:N0} results; run the same command again to resume ({statePath}).");
                return 1;
            }
            catch (Exception ex)
            {
                await Console.Error.WriteLineAsync($"resultgrid migrate: the copy stopped after {state.ResultsScanned:N0} results: {BackendCheck.Reason(ex)} Run the same command again to resume ({statePath}).");
                return 1;
            }

            clock.Stop();
            var scannedNow = state.ResultsScanned - scannedBefore;
            var rate = clock.Elapsed.TotalSeconds > 0 ? scannedNow / clock.Elapsed.TotalSeconds : 0;
            failed |= state.ProblemCount > 0;
            report["copy"] = new Dictionary<string, object?>
            {
                ["resumed"] = resumed,
                ["runs"] = state.Runs,
                ["results_scanned"] = state.ResultsScanned,
                ["results_added"] = state.ResultsAdded,
                ["results_already_present"] = state.ResultsAlreadyPresent,
                ["groups_scanned"] = state.GroupsScanned,
                ["groups_added"] = state.GroupsAdded,
                ["problem_count"] = state.ProblemCount,
                ["problems"] = state.Problems.Select(p => new { id = p.Id, reason = p.Reason }),
                ["results_this_run"] = scannedNow,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                ["results_per_second"] = Math.Round(rate),
            };
            if (!args.Json)
            {
                var table = new Table().AddColumn("copied").AddColumn(new TableColumn("scanned").RightAligned()).AddColumn(new TableColumn("added").RightAligned()).AddColumn(new TableColumn("already there").RightAligned());
                table.AddRow("results", $"{state.ResultsScanned:N0}", $"{state.ResultsAdded:N0}", $"{state.ResultsAlreadyPresent:N0}");
                table.AddRow("groups", $"{state.GroupsScanned:N0}", $"{state.GroupsAdded:N0}", $"{state.GroupsScanned - state.GroupsAdded:N0}");
                AnsiConsole.Write(table);
                AnsiConsole.MarkupLine($"{scannedNow:N0} results in {clock.Elapsed.TotalSeconds:N1} s ({rate:N0} results/s){(state.Runs > 1 ? $", run {state.Runs} of this copy" : string.Empty)}.");
                foreach (var problem in state.Problems)
                {
                    AnsiConsole.MarkupLine($"[yellow]not copied[/] {Markup.Escape(problem.Id)}: {Markup.Escape(problem.Reason)}");
                }

                if (state.ProblemCount > state.Problems.Count)
                {
                    AnsiConsole.MarkupLine($"[yellow]… and {state.ProblemCount - state.Problems.Count:N0} more not copied.[/]");
                }
            }
        }

        if (!args.NoVerify)
        {
            VerifyReport verify;
            try
            {
                verify = await WithProgressAsync(args.Json, "verify", estimate, progress => migration.VerifyAsync(settings, progress, cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("resultgrid migrate: the verify pass was interrupted; run with --verify-only to verify again.");
                return 1;
            }
            catch (Exception ex)
            {
                await Console.Error.WriteLineAsync($"resultgrid migrate: the verify pass failed: {BackendCheck.Reason(ex)}");
                return 1;
            }

            failed |= !verify.Passed;
            report["verify"] = new Dictionary<string, object?>
            {
                ["passed"] = verify.Passed,
                ["source_results"] = verify.SourceResults,
                ["target_results_matching"] = verify.TargetResultsMatching,
                ["source_groups"] = verify.SourceGroups,
                ["target_groups_matching"] = verify.TargetGroupsMatching,
                ["missing"] = verify.Missing,
                ["different"] = verify.Different,
                ["differences"] = verify.Differences.Select(d => new { id = d.Id, what = d.What, source_checksum = d.SourceChecksum, target_checksum = d.TargetChecksum }),
            };
            if (!args.Json)
            {
                AnsiConsole.MarkupLine(verify.Passed
                    ? $"[green]Verified[/]: {verify.TargetResultsMatching:N0} of {verify.SourceResults:N0} results and {verify.TargetGroupsMatching:N0} of {verify.SourceGroups:N0} groups match in the target, checksum for checksum."
                    : $"[red]Verify found differences[/]: {verify.Missing:N0} missing, {verify.Different:N0} different ({verify.TargetResultsMatching:N0} of {verify.SourceResults:N0} results match).");
                foreach (var d in verify.Differences)
                {
                    AnsiConsole.MarkupLine($"  {Markup.Escape(d.Id)}: {Markup.Escape(d.What)} [grey](source {Short(d.SourceChecksum)}, target {Short(d.TargetChecksum)})[/]");
                }
            }
        }

        if (args.Json)
        {
            report["passed"] = !failed;
            Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Options));
        }

        return failed ? 1 : 0;
    }

    private static string Short(string? checksum) => checksum is null ? "-" : checksum[..12];

    /// <summary>
    /// The state file's default name: one per pair of backends, in the current directory, so the
    /// same command run again resumes.
    /// </summary>
    private static string DefaultStatePath(string from, string to) =>
        $"resultgrid-migrate-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(from + "\n" + to)))[..12]}.json";

    /// <summary>
    /// A Spectre progress bar in a terminal; in a pipe or with --json, a line on stderr every
    /// few seconds, so a log shows the copy moving without a screen of redraws.
    /// </summary>
    private static async Task<T> WithProgressAsync<T>(bool json, string what, long estimate, Func<IProgress<MigrationProgress>, Task<T>> work)
    {
        if (json || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var last = Stopwatch.StartNew();
            var lines = new Progress<MigrationProgress>(p =>
            {
                if (last.Elapsed >= TimeSpan.FromSeconds(2))
                {
                    last.Restart();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resultgrid migrate: {p.Phase}: {p.Scanned:N0} scanned, {p.Added:N0} {(p.Phase == "verify" ? "matching" : "added")}"));
                }
            });
            return await work(lines);
        }

        T result = default!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(what, maxValue: Math.Max(1, estimate));
                task.IsIndeterminate = estimate <= 0;
                var progress = new Progress<MigrationProgress>(p =>
                {
                    task.Description = $"{p.Phase} {p.Scanned:N0}";
                    task.Value = Math.Min(p.Scanned, task.MaxValue);
                });
                result = await work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }
}
