using System.Globalization;

namespace ResultGrid.Tests;

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
