using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ResultGrid.Hosting;

/// <summary>
/// What went wrong at start-up, in a few lines and without a stack trace, and whether it was the
/// configuration (exit code 2: nothing was reached, the values are wrong) or a backend or the
/// machine (exit code 1: a server refused, a port was taken). Shared by the silo host and the CLI,
/// so both word the same failure the same way.
/// </summary>
internal static class StartupErrors
{
    /// <summary>Exit code of a configuration the silo (or a command) cannot use.</summary>
    public const int ConfigurationExitCode = 2;

    /// <summary>Exit code of a backend that refused, or anything else that failed.</summary>
    public const int FailureExitCode = 1;

    /// <summary>
    /// The messages of <paramref name="exception"/> and its causes, outermost first, each once:
    /// our messages quote their cause's, so a cause already said is left out. The failures of an
    /// options validation are listed one by one.
    /// </summary>
    public static IReadOnlyList<string> Reasons(Exception exception)
    {
        var reasons = new List<string>();
        Collect(exception, reasons);
        return reasons;
    }

    /// <summary>The reasons on one line, joined by " — ".</summary>
    public static string OneLine(Exception exception) => string.Join(" — ", Reasons(exception).Select(r => r.ReplaceLineEndings(" ")));

    /// <summary>Whether an options validator refused the configuration (exit code 2), anywhere among the causes.</summary>
    public static bool IsConfigurationError(Exception exception) => Flatten(exception).Any(e => e is OptionsValidationException);

    /// <summary>
    /// A settings file that is not valid JSON, as "<c>/app/appsettings.json is not valid JSON: … (line 4, column 5)</c>";
    /// null when <paramref name="exception"/> is something else. The configuration framework throws it when the
    /// host builder is made, wrapped twice ("Failed to load configuration from file …", "Could not parse the JSON file").
    /// </summary>
    public static string? DescribeSettingsFile(Exception exception)
    {
        var load = Flatten(exception).OfType<InvalidDataException>().FirstOrDefault();
        var json = Flatten(exception).OfType<JsonException>().FirstOrDefault();
        if (load is null || json is null)
        {
            return null;
        }

        // The loader's message is the only place that names the file: "… from file '/path/appsettings.json'."
        var quoted = load.Message.Split('\'');
        var file = quoted.Length >= 3 ? quoted[1] : "a settings file";
        var what = json.Message;
        var cut = what.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
        {
            what = what[..cut].TrimEnd();
        }

        // JsonException counts lines and bytes from 0; editors count from 1.
        var where = json.LineNumber is { } line
            ? $" (line {line + 1}{(json.BytePositionInLine is { } column ? $", column {column + 1}" : string.Empty)})"
            : string.Empty;
        return $"{file} is not valid JSON: {what.TrimEnd('.')}{where}. Correct the file (comments and trailing commas are allowed).";
    }

    private static IEnumerable<Exception> Flatten(Exception exception)
    {
        yield return exception;
        var inner = exception is AggregateException aggregate ? aggregate.InnerExceptions : exception.InnerException is { } one ? [one] : (IEnumerable<Exception>)[];
        foreach (var e in inner)
        {
            foreach (var below in Flatten(e))
            {
                yield return below;
            }
        }
    }

    private static void Collect(Exception exception, List<string> reasons)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                foreach (var failure in validation.Failures)
                {
                    Add(failure);
                }

                return;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner, reasons);
                }

                return;
        }

        Add(exception.Message);
        if (exception.InnerException is { } cause)
        {
            Collect(cause, reasons);
        }

        void Add(string message)
        {
            if (!reasons.Any(r => r.Contains(message, StringComparison.Ordinal)))
            {
                reasons.Add(message);
            }
        }
    }
}
