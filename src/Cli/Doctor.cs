using System.CommandLine;
using System.Text.Json;
using ResultGrid.Hosting;
using ResultGrid.Hosting.Doctor;
using Spectre.Console;

namespace ResultGrid.Cli;

/// <summary>
/// <c>resultgrid doctor</c>: reads the configuration a silo would read and lists what puts results,
/// credentials or the cluster at risk, with the fix for each. Exit code 0 when nothing is at
/// warning or worse, 1 when something is, 2 when the silo would refuse the configuration.
/// </summary>
internal static class Doctor
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var configDir = new Option<string?>("--config-dir") { Description = "The directory of the silo's appsettings.json (default: the current directory)." };
        var environment = new Option<string?>("--environment") { Description = "The host environment whose appsettings.{Environment}.json to read (default: DOTNET_ENVIRONMENT, as the silo, else Production)." };
        var offline = new Option<bool>("--offline") { Description = "Judge the configuration only; do not connect to the backend." };
        var json = new Option<bool>("--json") { Description = "One JSON object {findings:[...]} instead of a table, for scripts." };
        var command = new Command(
            "doctor",
            "Reads the configuration a silo would read (appsettings.json, appsettings.{Environment}.json, environment variables) and lists problems with the fix for each: " +
            "passwords in files, remote backends without TLS or certificate checks, results that never expire, ignore-result set globally, SQL pools below the store's concurrency, " +
            "MySQL isolation, and, from the server (unless --offline), Redis persistence and eviction, SQL tables and cleanup indexes. Never prints a secret. " +
            "Exit code 0: no problem (notes allowed); 1: warnings or errors; 2: the silo would refuse the configuration.")
        {
            configDir,
            environment,
            offline,
            json,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(configDir), result.GetValue(environment), result.GetValue(offline), result.GetValue(json), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string? configDir, string? environment, bool offline, bool json, CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(configDir ?? Directory.GetCurrentDirectory());
        if (!Directory.Exists(directory))
        {
            await Console.Error.WriteLineAsync($"resultgrid doctor: the configuration directory {directory} does not exist.");
            return 2;
        }

        DoctorConfiguration loaded;
        try
        {
            loaded = DoctorConfiguration.Load(directory, environment);
        }
        catch (Exception ex) when (StartupErrors.DescribeSettingsFile(ex) is { } settingsFile)
        {
            // The silo would stop with the same words (exit code 2): nothing else can be judged.
            await Console.Error.WriteLineAsync($"resultgrid doctor: {settingsFile}");
            return StartupErrors.ConfigurationExitCode;
        }

        using var configuration = loaded;
        var findings = (await ConfigurationDoctor.CheckAsync(configuration, offline, environmentGiven: environment is not null, cancellationToken)).ToList();

        var exit = findings.Exists(f => f.Id == DoctorIds.ConfigInvalid) ? 2 : findings.Exists(f => f.Severity >= DoctorSeverity.Warning) ? 1 : 0;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(
                new
                {
                    configDir = directory,
                    environment = configuration.Environment,
                    offline,
                    findings = findings.Select(f => new { id = f.Id, severity = f.SeverityName, key = f.Key, source = f.Source, found = f.Found, fix = f.Fix }),
                },
                JsonOptions));
            return exit;
        }

        // A configuration the silo refuses: one line each, where errors go, as every command says it.
        foreach (var invalid in findings.Where(f => f.Id == DoctorIds.ConfigInvalid))
        {
            // The message names the key already; the line adds where its value came from.
            var from = invalid.Source is null or "default" ? string.Empty : $" (from {invalid.Source})";
            await Console.Error.WriteLineAsync($"resultgrid doctor: {invalid.Found}{from} {invalid.Fix}");
        }

        var shown = findings.Where(f => f.Id != DoctorIds.ConfigInvalid).ToList();
        var files = string.Concat(configuration.Files.Where(f => f.Exists).Select(f => f.Name + ", "));
        AnsiConsole.MarkupLine($"Configuration in [bold]{Markup.Escape(directory)}[/], environment [bold]{Markup.Escape(configuration.Environment)}[/]: {Markup.Escape(files)}environment variables{(offline ? "; offline" : string.Empty)}");
        if (shown.Count > 0)
        {
            // Where, what and the fix share one wide column: in 80 columns, four would be a ribbon.
            var table = new Table().AddColumn("severity").AddColumn("id").AddColumn("where, what, and the fix");
            foreach (var finding in shown)
            {
                var colour = finding.Severity switch { DoctorSeverity.Error => "red", DoctorSeverity.Warning => "yellow", _ => "grey" };
                table.AddRow(
                    $"[{colour}]{finding.SeverityName}[/]",
                    Markup.Escape(finding.Id),
                    $"[bold]{Markup.Escape(finding.Where)}[/]\n{Markup.Escape(finding.Found)}\n[grey]Fix:[/] {Markup.Escape(finding.Fix)}");
            }

            AnsiConsole.Write(table);
        }

        int Count(DoctorSeverity severity) => findings.Count(f => f.Severity == severity);
        AnsiConsole.MarkupLine(exit == 0
            ? $"[green]No problems found[/]{(findings.Count > 0 ? $" ({Count(DoctorSeverity.Info)} notes)" : string.Empty)}."
            : $"{Count(DoctorSeverity.Error)} errors, {Count(DoctorSeverity.Warning)} warnings, {Count(DoctorSeverity.Info)} notes.");
        return exit;
    }
}
