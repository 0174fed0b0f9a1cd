using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Where a Redis backend URL points: host and port (<c>redis://</c>, <c>rediss://</c>), a Unix
/// socket (<c>unix:///path.sock</c> or Celery's <c>redis+socket:///path.sock</c>), or a set of
/// Sentinels and a master name (<c>sentinel://h1:26379;h2:26379/0?master_name=mymaster</c>,
/// Celery's <c>sentinel://h1:26379;sentinel://h2:26379/0</c> form too).
/// </summary>
internal sealed record RedisAddress(IReadOnlyList<EndPoint> EndPoints, string Display, int Database, string? User, string? Password, string? SentinelMaster)
{
    public const int DefaultPort = 6379;
    public const int DefaultSentinelPort = 26379;

    public static readonly string[] Schemes = ["redis", "rediss", "unix", "redis+socket", "sentinel"];

    /// <summary>Parses the address part of <paramref name="url"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static RedisAddress Parse(BackendUrl url)
    {
        var rest = url.Rest;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            rest = rest[..q];
        }

        var (user, password, location) = SplitUserInfo(rest, url.Scheme);
        var database = 0;
        if (url.Query.TryGetValue("db", out var dbText))
        {
            database = ParseDatabase(dbText, url);
        }

        switch (url.Scheme)
        {
            case "unix" or "redis+socket":
            {
                if (!location.StartsWith('/') || location.Length < 2)
                {
                    throw new FormatException($"'{url.Redacted}' has no socket path; it looks like {url.Scheme}:///var/run/redis/redis.sock[?db=0].");
                }

                return new RedisAddress([new UnixDomainSocketEndPoint(location)], location, database, user, password, null);
            }

            case "sentinel":
            {
                var slash = location.LastIndexOf('/');
                if (slash >= 0)
                {
                    database = ParseDatabase(location[(slash + 1)..], url);
                    location = location[..slash];
                }

                if (!url.Query.TryGetValue("master_name", out var master) || string.IsNullOrWhiteSpace(master))
                {
                    throw new FormatException($"'{url.Redacted}' names no master; add ?master_name=<the name the Sentinels monitor>.");
                }

                var endpoints = new List<EndPoint>();
                foreach (var part in location.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var hostPort = part.StartsWith("sentinel://", StringComparison.OrdinalIgnoreCase) ? part["sentinel://".Length..] : part;
                    endpoints.Add(ParseHostPort(hostPort.TrimEnd('/'), DefaultSentinelPort, url));
                }

                if (endpoints.Count == 0)
                {
                    throw new FormatException($"'{url.Redacted}' lists no Sentinel; it looks like sentinel://host1:26379;host2:26379/0?master_name=mymaster.");
                }

                return new RedisAddress(endpoints, string.Join(";", endpoints.Select(Describe)) + $" (master {master})", database, user, password, master);
            }

            default:
            {
                var slash = location.IndexOf('/', StringComparison.Ordinal);
                var hostPort = slash < 0 ? location : location[..slash];
                var path = slash < 0 ? string.Empty : location[(slash + 1)..].Trim('/');
                if (path.Length > 0)
                {
                    database = ParseDatabase(path, url);
                }

                if (hostPort.Length == 0)
                {
                    throw new FormatException($"'{url.Redacted}' has no host; a Redis URL looks like {url.Scheme}://[[user]:password@]host[:port][/db], e.g. {url.Scheme}://localhost:6379/0.");
                }

                var endpoint = ParseHostPort(hostPort, DefaultPort, url);
                return new RedisAddress([endpoint], Describe(endpoint), database, user, password, null);
            }
        }
    }

    private static (string? User, string? Password, string Location) SplitUserInfo(string rest, string scheme)
    {
        // The user info ends at the last '@' before the location (a password may contain '@').
        var limit = scheme is "unix" or "redis+socket" ? rest.IndexOf("@/", StringComparison.Ordinal) + 1 : rest.IndexOf('/', StringComparison.Ordinal);
        var authority = limit <= 0 ? rest : rest[..limit];
        var at = authority.LastIndexOf('@');
        if (at < 0)
        {
            return (null, null, rest);
        }

        var userInfo = authority[..at];
        var location = rest[(at + 1)..];
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            // A lone user info is the password, as in redis-py.
            return (null, Uri.UnescapeDataString(userInfo), location);
        }

        var user = Uri.UnescapeDataString(userInfo[..colon]);
        return (user.Length == 0 ? null : user, Uri.UnescapeDataString(userInfo[(colon + 1)..]), location);
    }

    private static EndPoint ParseHostPort(string text, int defaultPort, BackendUrl url)
    {
        string host;
        var port = defaultPort;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? text[1..close] : throw new FormatException($"'{url.Redacted}' has an unclosed IPv6 address.");
            if (close + 1 < text.Length && text[close + 1] == ':')
            {
                port = ParsePort(text[(close + 2)..], url);
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            if (colon >= 0)
            {
                port = ParsePort(text[(colon + 1)..], url);
            }
        }

        if (host.Length == 0)
        {
            throw new FormatException($"'{url.Redacted}' has an empty host.");
        }

        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
    }

    private static int ParsePort(string text, BackendUrl url) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"'{url.Redacted}' has port '{text}'; a port is a number from 1 to 65535.");

    private static int ParseDatabase(string text, BackendUrl url) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var db)
            ? db
            : throw new FormatException($"'{url.Redacted}' names database '{text}'; a Redis database is a number from 0, e.g. /0.");

    public static string Describe(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        UnixDomainSocketEndPoint unix => unix.ToString(),
        _ => endpoint.ToString() ?? "?",
    };
}
