namespace ResultGrid.Storage;

/// <summary>
/// A hash that every silo computes the same way (string.GetHashCode is randomised per process),
/// for spreading task ids over partition grains. FNV-1a over UTF-16 code units: cheap, and
/// spreads UUIDs evenly.
/// </summary>
internal static class StableHash
{
    public static uint Of(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
