using System.Globalization;

namespace ResultGrid.Storage;

/// <summary>
/// Typed reads of backend-URL query parameters, shared by every provider so that
/// <c>?socket_timeout=2.5</c> or <c>?pool_pre_ping=true</c> mean the same everywhere. Each
/// throws <see cref="FormatException"/> naming the parameter and what it must be.
/// </summary>
internal static class UrlParameters
{
    public static int WholeNumber(string text, string name) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new FormatException($"{name}={text} is not a whole number.");

    public static TimeSpan Seconds(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? TimeSpan.FromSeconds(value)
            : throw new FormatException($"{name}={text} is not a number of seconds.");

    public static TimeSpan Milliseconds(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? TimeSpan.FromMilliseconds(value)
            : throw new FormatException($"{name}={text} is not a number of milliseconds.");

    public static bool Flag(string text, string name) => text.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => throw new FormatException($"{name}={text} is not true or false."),
    };

    /// <summary>The first unknown parameter's message, or null when every key is in <paramref name="known"/>.</summary>
    public static string? Unknown(BackendUrl url, IReadOnlyCollection<string> known)
    {
        foreach (var key in url.Query.Keys)
        {
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                return $"The backend URL '{url.Redacted}' has the unknown parameter '{key}'; {url.Scheme}:// accepts: {string.Join(", ", known)}.";
            }
        }

        return null;
    }
}
