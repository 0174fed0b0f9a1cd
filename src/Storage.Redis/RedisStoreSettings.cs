using Microsoft.Extensions.Logging;
using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>Settings of the Redis store, bound from <c>ResultGrid:Redis</c>. URL parameters win over them.</summary>
public sealed class RedisResultStoreOptions
{
    public const string SectionName = "ResultGrid:Redis";

    /// <summary>
    /// The password, when the backend URL has none: set it in the environment
    /// (<c>RESULTGRID__REDIS__PASSWORD</c>), never in a committed file.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>The ACL user name, when the backend URL has none.</summary>
    public string? User { get; set; }

    /// <summary>A prefix for every key (Celery's <c>global_keyprefix</c> transport option). Default none.</summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>How long to wait for a connection. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>A parsed, validated <c>redis://</c> or <c>rediss://</c> URL together with the options.</summary>
internal sealed class RedisStoreSettings
{
    private static readonly string[] KnownParameters = ["global_keyprefix"];

    private RedisStoreSettings(ConfigurationOptions configuration, int database, string keyPrefix, string endpoints, string redactedUrl)
    {
        Configuration = configuration;
        Database = database;
        KeyPrefix = keyPrefix;
        Endpoints = endpoints;
        RedactedUrl = redactedUrl;
    }

    public ConfigurationOptions Configuration { get; }
    public int Database { get; }
    public string KeyPrefix { get; }
    public string Endpoints { get; }
    public string RedactedUrl { get; }

    /// <summary>Null when the URL is usable; otherwise what is wrong and what is allowed.</summary>
    public static string? Validate(BackendUrl url)
    {
        if (url.Uri is not { } uri || string.IsNullOrEmpty(uri.Host))
        {
            return $"The backend URL '{url.Redacted}' has no host; a Redis URL looks like {url.Scheme}://[[user]:password@]host[:port][/db], e.g. {url.Scheme}://localhost:6379/0.";
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var db) || db < 0))
        {
            return $"The backend URL '{url.Redacted}' names database '{path}'; a Redis database is a number from 0, e.g. /0.";
        }

        foreach (var key in url.Query.Keys)
        {
            if (!KnownParameters.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                return $"The backend URL '{url.Redacted}' has the unknown parameter '{key}'; {url.Scheme}:// accepts: {string.Join(", ", KnownParameters)}.";
            }
        }

        return null;
    }

    public static RedisStoreSettings Create(BackendUrl url, RedisResultStoreOptions options)
    {
        var uri = url.Uri!;
        var port = uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port;
        var path = uri.AbsolutePath.Trim('/');
        var database = path.Length == 0 ? 0 : int.Parse(path, CultureInfo.InvariantCulture);
        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            if (colon < 0)
            {
                // redis://secret@host: a lone user info is the password, as in redis-py.
                (user, password) = (null, user);
            }
        }

        var configuration = new ConfigurationOptions
        {
            User = string.IsNullOrEmpty(user) ? options.User : user,
            Password = string.IsNullOrEmpty(password) ? options.Password : password,
            Ssl = url.Scheme == "rediss",
            AbortOnConnectFail = true,
            ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds,
            ClientName = "resultgrid",
        };
        configuration.EndPoints.Add(uri.Host, port);
        var keyPrefix = url.Query.TryGetValue("global_keyprefix", out var prefix) ? prefix : options.KeyPrefix;
        return new RedisStoreSettings(configuration, database, keyPrefix, $"{uri.Host}:{port}", url.Redacted);
    }
}

/// <summary>The provider for <c>redis://</c> and <c>rediss://</c>.</summary>
internal sealed class RedisResultStoreProvider(IOptions<RedisResultStoreOptions> options, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    private static readonly string[] SchemeNames = ["redis", "rediss"];

    public IReadOnlyCollection<string> Schemes => SchemeNames;

    public string? Validate(BackendUrl url) => RedisStoreSettings.Validate(url);

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new RedisResultStore(RedisStoreSettings.Create(url, options.Value), time, loggers.CreateLogger<RedisResultStore>());
}
