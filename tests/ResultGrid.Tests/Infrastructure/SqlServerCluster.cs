namespace ResultGrid.Tests;

/// <summary>A SQL backend on a database server of the cluster's own, started before the silos.</summary>
public abstract class SqlServerCluster<TServer>() : ResultCluster("db+")
    where TServer : SqlServerProcess, new()
{
    public TServer Server { get; } = new();

    protected override async ValueTask<string> BackendUrlAsync()
    {
        await Server.StartAsync();
        return Server.Url;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}
