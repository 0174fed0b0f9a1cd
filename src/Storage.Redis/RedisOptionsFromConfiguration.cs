using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Binds <see cref="RedisResultStoreOptions"/> from <c>ResultGrid:Redis</c>, as
/// <c>BindConfiguration</c> does, but as a type of its own: registered with
/// <c>TryAddEnumerable</c>, a second <c>AddRedisResultStore</c> cannot bind the section again,
/// which would overwrite what the first call's <c>configure</c> set with the file's values.
/// </summary>
internal sealed class RedisOptionsFromConfiguration(IConfiguration configuration) : IConfigureOptions<RedisResultStoreOptions>
{
    public void Configure(RedisResultStoreOptions options) => configuration.GetSection(RedisResultStoreOptions.SectionName).Bind(options);
}

/// <summary>Reloads of the configuration reach <see cref="IOptionsMonitor{TOptions}"/> of the Redis options, once however often they are registered.</summary>
internal sealed class RedisOptionsChangeTokenSource(IConfiguration configuration) : ConfigurationChangeTokenSource<RedisResultStoreOptions>(configuration);
