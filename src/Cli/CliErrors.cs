using System.CommandLine;
using Microsoft.Extensions.Configuration;
using ResultGrid.Hosting;
using ResultGrid.Hosting.Doctor;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Cli;

/// <summary>
/// How every command ends when something is wrong: one line on stderr, prefixed with the command,
/// and a documented exit code (2: the arguments or the configuration cannot be used; 1: a backend
/// refused or failed, or anything else went wrong). A stack trace only with <c>--verbose</c> or
/// <c>RESULTGRID_VERBOSE=1</c>.
/// </summary>
internal static class CliErrors
{
    public const int Usage = StartupErrors.ConfigurationExitCode;
    public const int Failure = StartupErrors.FailureExitCode;

    public const string VerboseVariable = "RESULTGRID_VERBOSE";

    /// <summary>The option that adds stack traces; every command takes it.</summary>
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = $"On an unexpected error, print its stack trace too (also {VerboseVariable}=1).",
        Recursive = true,
    };

    // The store options a command's store binds from the environment (CliStore): the only
    // configuration the commands other than doctor read.
    private static readonly (string Section, Type Options)[] StoreSections =
    [
        (RedisResultStoreOptions.SectionName, typeof(RedisResultStoreOptions)),
        (SqlResultStoreOptions.SectionName, typeof(SqlResultStoreOptions)),
    ];

    public static bool IsVerbose(ParseResult parse) =>
        parse.GetValue(Verbose) || Environment.GetEnvironmentVariable(VerboseVariable) is "1" or "true";

    /// <summary>"resultgrid check", or "resultgrid" for the root command.</summary>
    public static string CommandName(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command.Name);
        }

        names[0] = "resultgrid";
        return string.Join(' ', names);
    }

    /// <summary>Arguments the parser refused (a value of the wrong type, a missing argument, an unknown command): one line, exit code 2.</summary>
    public static async Task<int> ParseErrorsAsync(ParseResult parse)
    {
        var command = CommandName(parse);
        await Console.Error.WriteLineAsync($"{command}: {string.Join(" ", parse.Errors.Select(e => e.Message.TrimEnd('.') + "."))} ('{command} --help' shows the usage.)");
        return Usage;
    }

    /// <summary>
    /// A store option in the environment that does not parse (<c>RESULTGRID__REDIS__MAXCONNECTIONS=abc</c>):
    /// said before the store binds it, which would throw the binder's exception. Exit code 2, or null when all parse.
    /// </summary>
    public static async Task<int?> EnvironmentProblemsAsync(ParseResult parse)
    {
        var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var problems = ConfigurationValueCheck.Check(environment, StoreSections);
        if (problems.Count == 0)
        {
            return null;
        }

        var command = CommandName(parse);
        await Console.Error.WriteLineAsync($"{command}: " + string.Join(" ", problems.Select(p => $"{p.Message.TrimEnd('.')} (environment variable {DoctorConfiguration.EnvironmentName(p.Key)}).")));
        return Usage;
    }

    /// <summary>The last resort: an exception no command expected, as one line naming the command (exit code 1).</summary>
    public static async Task<int> UnexpectedAsync(ParseResult parse, Exception exception)
    {
        var command = CommandName(parse);
        if (exception is OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"{command}: interrupted.");
            return Failure;
        }

        var verbose = IsVerbose(parse);
        await Console.Error.WriteLineAsync($"{command}: {StartupErrors.OneLine(exception)}" + (verbose ? string.Empty : $" (--verbose or {VerboseVariable}=1 shows the stack trace)"));
        if (verbose)
        {
            await Console.Error.WriteLineAsync(exception.ToString());
        }

        return Failure;
    }
}
