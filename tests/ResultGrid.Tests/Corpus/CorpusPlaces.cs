using System.Globalization;

namespace ResultGrid.Tests.Corpus;

/// <summary>
/// One row of a bad-input corpus run as the real program: placeholders in its arguments and
/// environment are replaced by the real servers' addresses, and the result is held to what every
/// row must show: the expected exit code, each expected fragment on stderr, and neither a stack
/// trace nor the hosting framework's "Hosting failed to start" anywhere.
/// </summary>
internal sealed class CorpusPlaces
{
    /// <summary>A wrong password for the PostgreSQL user: never to be printed.</summary>
    public const string WrongPassword = "Corpus-Wr0ng-Secret";

    public required string Redis { get; init; }
    public required int PostgresPort { get; init; }
    public int FreePort { get; } = Tests.FreePort.Get();
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("rg-corpus-").FullName;

    /// <summary>
    /// {redis}: redis://127.0.0.1:port of the tests' Redis (no database); {free}: a loopback port
    /// nothing listens on; {pg}: db+postgresql://rg@127.0.0.1:port/resultgrid (no password);
    /// {pg-wrong}: the same with a wrong password; {dir}: a directory of the row's own.
    /// </summary>
    public string Expand(string text) => text
        .Replace("{redis}", Redis, StringComparison.Ordinal)
        .Replace("{free}", FreePort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{pg-wrong}", $"db+postgresql://{SqlServerProcess.User}:{WrongPassword}@127.0.0.1:{PostgresPort}/{SqlServerProcess.Database}", StringComparison.Ordinal)
        .Replace("{pg}", $"db+postgresql://{SqlServerProcess.User}@127.0.0.1:{PostgresPort}/{SqlServerProcess.Database}", StringComparison.Ordinal)
        .Replace("{dir}", Directory, StringComparison.Ordinal);

    public static async Task<CorpusPlaces> CreateAsync(RedisCluster redis, PostgresCluster postgres)
    {
        var url = await redis.Server.UrlAsync();
        return new CorpusPlaces { Redis = url[..url.LastIndexOf('/')], PostgresPort = postgres.Server.Port };
    }
}

internal static class CorpusAssert
{
    /// <summary>"KEY=VALUE" pairs as a dictionary, values expanded.</summary>
    public static Dictionary<string, string> Environment(CorpusPlaces places, IEnumerable<string> pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => places.Expand(p[1]));

    public static void Holds(string row, int expectedExit, string[] fragments, int exit, string output, string error)
    {
        var all = output + error;
        var shown = $"{row}: exit {exit}\n--- stdout\n{output}\n--- stderr\n{error}";
        Assert.True(exit == expectedExit, $"expected exit {expectedExit}. {shown}");
        foreach (var fragment in fragments)
        {
            Assert.True(error.Contains(fragment, StringComparison.Ordinal), $"stderr does not name '{fragment}'. {shown}");
        }

        Assert.False(all.Contains("   at ", StringComparison.Ordinal), $"a stack trace. {shown}");
        Assert.False(all.Contains("Hosting failed to start", StringComparison.Ordinal), $"the hosting framework's start failure. {shown}");
        Assert.False(all.Contains("Unhandled exception", StringComparison.Ordinal), $"an unhandled exception. {shown}");
        Assert.False(all.Contains("abortConnect", StringComparison.Ordinal), $"StackExchange.Redis' connection-string advice. {shown}");
        Assert.False(all.Contains(CorpusPlaces.WrongPassword, StringComparison.Ordinal), $"a password. {shown}");
    }
}
