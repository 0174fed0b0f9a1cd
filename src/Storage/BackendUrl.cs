using System.Diagnostics.CodeAnalysis;

namespace ResultGrid.Storage;

/// <summary>
/// A backend URL such as <c>memory://</c>, <c>rpc://</c>, <c>redis://host:6379/0</c> or
/// <c>db+postgresql://user@host/db</c>: the scheme picks the provider, the rest is the provider's.
/// </summary>
public sealed class BackendUrl
{
    private BackendUrl(string original, string scheme, string rest, Uri? uri, IReadOnlyDictionary<string, string> query)
    {
        Original = original;
        Scheme = scheme;
        Rest = rest;
        Uri = uri;
        Query = query;
    }

    /// <summary>The URL as given. Never log it: it may hold a password. Log <see cref="Redacted"/>.</summary>
    public string Original { get; }

    /// <summary>The scheme in lower case, e.g. <c>memory</c>, <c>db+postgresql</c>.</summary>
    public string Scheme { get; }

    /// <summary>Everything after <c>scheme://</c>.</summary>
    public string Rest { get; }

    /// <summary>The parsed URL, when the part after the scheme is a host-based URL.</summary>
    public Uri? Uri { get; }

    /// <summary>Query parameters (<c>?ssl_cert_reqs=required</c>), keys case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Query { get; }

    private static readonly HashSet<string> SecretKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "pwd", "passwd", "pass", "secret", "token", "apikey", "api_key", "access_key", "sslpassword", "sasl_password",
    };

    /// <summary>
    /// The URL with any password replaced by <c>***</c>, in the user info and in query
    /// parameters such as <c>?password=</c>: safe for logs and errors.
    /// </summary>
    public string Redacted
    {
        get
        {
            var query = Rest.IndexOf('?', StringComparison.Ordinal);
            var beforeQuery = query < 0 ? Rest : Rest[..query];
            var slash = beforeQuery.IndexOf('/', StringComparison.Ordinal);
            var authority = slash < 0 ? beforeQuery : beforeQuery[..slash];
            var path = beforeQuery[authority.Length..];

            // The user info ends at the last '@' of the authority: a password may contain '@'.
            var at = authority.LastIndexOf('@');
            if (at >= 0)
            {
                var userInfo = authority[..at];
                var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
                var user = colon < 0 ? string.Empty : userInfo[..colon];
                authority = (colon < 0 ? "***" : user + ":***") + authority[at..];
            }

            var text = $"{Scheme}://{authority}{path}";
            if (query >= 0)
            {
                var pairs = Rest[(query + 1)..].Split('&').Select(pair =>
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    return eq > 0 && SecretKeys.Contains(Uri.UnescapeDataString(pair[..eq])) ? pair[..eq] + "=***" : pair;
                });
                text += "?" + string.Join('&', pairs);
            }

            return text;
        }
    }

    public override string ToString() => Redacted;

    /// <summary>
    /// The same URL under another scheme, without the query parameters named in
    /// <paramref name="withoutParameters"/> (case-insensitive), every other part exactly as given:
    /// for a URL that wraps another provider's (<c>celery+db+postgresql://</c> is Celery's
    /// <c>db+postgresql://</c> plus parameters of its own).
    /// </summary>
    public BackendUrl WithScheme(string scheme, params IEnumerable<string> withoutParameters)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);
        ArgumentNullException.ThrowIfNull(withoutParameters);
        var removed = new HashSet<string>(withoutParameters, StringComparer.OrdinalIgnoreCase);
        var q = Rest.IndexOf('?', StringComparison.Ordinal);
        var rest = q < 0 ? Rest : Rest[..q];
        if (q >= 0)
        {
            var kept = Rest[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Where(pair => !removed.Contains(Uri.UnescapeDataString(pair.Split('=')[0])))
                .ToArray();
            rest += kept.Length == 0 ? string.Empty : "?" + string.Join('&', kept);
        }

        return Parse(scheme + "://" + rest);
    }

    /// <summary>Parses a backend URL, or throws <see cref="FormatException"/> saying what is wrong and what is allowed.</summary>
    public static BackendUrl Parse(string? url)
    {
        if (!TryParse(url, out var parsed, out var error))
        {
            throw new FormatException(error);
        }

        return parsed;
    }

    public static bool TryParse(string? url, [NotNullWhen(true)] out BackendUrl? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            error = "The backend URL is empty; give one such as memory://, rpc://, redis://host:6379/0 or db+postgresql://host/db.";
            return false;
        }

        var trimmed = url.Trim();
        var sep = trimmed.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0)
        {
            error = $"The backend URL '{Safe(trimmed)}' has no scheme; it must look like scheme://..., e.g. memory://, rpc://, redis://host:6379/0.";
            return false;
        }

        var scheme = trimmed[..sep].ToLowerInvariant();
        if (!char.IsAsciiLetter(scheme[0]) || !scheme.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
        {
            error = $"The backend URL scheme '{scheme}' is not a valid scheme: letters, digits, '+', '-' and '.', starting with a letter.";
            return false;
        }

        var rest = trimmed[(sep + 3)..];
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            foreach (var pair in rest[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
                query[key] = value;
            }
        }

        Uri.TryCreate(trimmed, UriKind.Absolute, out var uri);
        parsed = new BackendUrl(trimmed, scheme, rest, uri, query);
        error = null;
        return true;
    }

    // An unparseable URL may still carry a password; show only what precedes any '@'.
    private static string Safe(string text)
    {
        var at = text.LastIndexOf('@');
        return at < 0 ? text : "***" + text[at..];
    }
}
