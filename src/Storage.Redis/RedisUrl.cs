using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// A Redis backend URL as StackExchange.Redis connection options, with the same parameters, TLS
/// checks and credentials as the result store: for Orleans clustering and reminders on the same
/// Redis.
/// </summary>
internal static class RedisUrl
{
    /// <summary>
    /// The connection options for <paramref name="url"/> (<c>redis://</c>, <c>rediss://</c>,
    /// <c>unix://</c>, <c>redis+socket://</c> or <c>sentinel://</c>) and <paramref name="options"/>,
    /// validated as the result store validates them, with the URL's database as the default
    /// database. Unlike the store's, a call made while the connection is down waits in the
    /// driver's backlog.
    /// </summary>
    /// <param name="url">The backend URL; its parameters win over <paramref name="options"/>.</param>
    /// <param name="options">The Redis options (<c>ResultGrid:Redis</c>); the defaults when null.</param>
    /// <exception cref="ArgumentException">The URL is not a usable Redis URL; the message says why, without the password.</exception>
    public static ConfigurationOptions ToConfigurationOptions(string url, RedisResultStoreOptions? options = null)
    {
        options ??= new RedisResultStoreOptions();
        if (!BackendUrl.TryParse(url, out var parsed, out var error))
        {
            throw new ArgumentException(error, nameof(url));
        }

        if (!RedisAddress.Schemes.Contains(parsed.Scheme))
        {
            throw new ArgumentException($"'{parsed.Redacted}' is not a Redis URL; schemes: {string.Join(", ", RedisAddress.Schemes.Select(s => s + "://"))}.", nameof(url));
        }

        if (RedisStoreSettings.Validate(parsed, options) is { } problem)
        {
            throw new ArgumentException(problem, nameof(url));
        }

        var settings = RedisStoreSettings.Create(parsed, options);
        var configuration = settings.Configuration.Clone();
        configuration.DefaultDatabase = settings.Database;
        // Orleans' membership table connects during start-up; waiting in the backlog through a
        // short blip suits it better than failing fast.
        configuration.BacklogPolicy = BacklogPolicy.Default;
        return configuration;
    }
}
