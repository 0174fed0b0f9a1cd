using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// A <c>redis://</c> or <c>rediss://</c> URL as StackExchange.Redis connection options, with
/// the same parameters, TLS checks and credentials as the result store: for Orleans clustering
/// and reminders on the same Redis.
/// </summary>
public static class RedisUrl
{
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
