using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ResultGrid.Storage.Redis;

/// <summary>The provider for <c>redis://</c>, <c>rediss://</c>, <c>unix://</c> (and Celery's <c>redis+socket://</c>) and <c>sentinel://</c>.</summary>
internal sealed class RedisResultStoreProvider(IOptions<RedisResultStoreOptions> options, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    public IReadOnlyCollection<string> Schemes => RedisAddress.Schemes;

    public string? Validate(BackendUrl url) => RedisStoreSettings.Validate(url, options.Value);

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new RedisResultStore(RedisStoreSettings.Create(url, options.Value), time, loggers.CreateLogger<RedisResultStore>(), ResultHistoryOptions.From(services));
}
