using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Hosting;

/// <summary>
/// The silo host's own switch, <c>--verbose</c>, taken out of the arguments before the host reads
/// them as configuration (where a lone <c>--verbose</c> would be a key without a value).
/// </summary>
internal static class SiloCommandLine
{
    public const string VerboseSwitch = "--verbose";

    /// <summary>The environment variable that asks for stack traces too (the CLI reads the same one).</summary>
    public const string VerboseVariable = "RESULTGRID_VERBOSE";

    /// <summary>The arguments for the host, and whether <c>--verbose</c> (or <c>RESULTGRID_VERBOSE=1</c>) asked for every log entry and stack trace.</summary>
    public static (string[] HostArguments, bool Verbose) Parse(string[] args)
    {
        var verbose = args.Any(IsVerbose) || Environment.GetEnvironmentVariable(VerboseVariable) is "1" or "true";
        return ([.. args.Where(a => !IsVerbose(a))], verbose);
    }

    /// <summary>
    /// A default log level of Debug or Trace asks for detail too: whoever set it wants to see
    /// what happens, errors as they happen with their stack traces included.
    /// </summary>
    public static bool AsksForDetail(IConfiguration configuration) =>
        Enum.TryParse<LogLevel>(configuration["Logging:LogLevel:Default"], ignoreCase: true, out var level) && level <= LogLevel.Debug;

    private static bool IsVerbose(string argument) =>
        argument.Equals(VerboseSwitch, StringComparison.OrdinalIgnoreCase) || argument.Equals("-v", StringComparison.Ordinal);
}
