namespace ResultGrid.Tests;

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
