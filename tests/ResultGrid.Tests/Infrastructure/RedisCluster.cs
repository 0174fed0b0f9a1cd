namespace ResultGrid.Tests;

/// <summary>redis:// on the redis-server that scripts/test.sh started (or one started here).</summary>
public sealed class RedisCluster() : ResultCluster("redis://")
{
    public RedisServer Server { get; } = new();

    protected override async ValueTask<string> BackendUrlAsync() => await Server.UrlAsync();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}
