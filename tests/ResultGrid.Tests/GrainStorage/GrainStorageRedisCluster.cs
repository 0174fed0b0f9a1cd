using Orleans.Hosting;

namespace ResultGrid.Tests;

/// <summary>
/// grainstorage://orleans-redis over Orleans' Redis grain storage registered with Orleans' own
/// extension and its defaults (its JSON serializer, clear without delete): any IGrainStorage
/// works, not only the registrations ResultGrid makes. On the suite's redis-server.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GrainStorageRedisCluster() : ResultCluster(Url), ICollectionFixture<GrainStorageRedisCluster>
{
    public const string Name = "grainstorage-redis";
    public const string StorageName = "orleans-redis";
    private const string Url = "grainstorage://" + StorageName;

    private string _configuration = "";

    public RedisServer Server { get; } = new();

    protected override async ValueTask<string> BackendUrlAsync()
    {
        var url = new Uri(await Server.UrlAsync());
        _configuration = $"{url.Host}:{url.Port}";
        return Url;
    }

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddRedisGrainStorage(StorageName, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(_configuration));
        ResultGrid.Hosting.GrainStorageServiceCollectionExtensions.AddGrainStorageResultStore(silo.Services);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}
