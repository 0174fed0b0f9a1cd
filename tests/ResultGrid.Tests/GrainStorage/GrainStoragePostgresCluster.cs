using ResultGrid.Hosting;

namespace ResultGrid.Tests;

/// <summary>
/// grainstorage://results over Orleans' ADO.NET grain storage on a PostgreSQL server of its own
/// (the tests' PostgresProcess), registered as the silo host registers it, so the silos create
/// Orleans' table and stored queries themselves. A collection fixture: started only when one of
/// its tests runs.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GrainStoragePostgresCluster() : ResultCluster(Url), ICollectionFixture<GrainStoragePostgresCluster>
{
    public const string Name = "grainstorage-postgresql";
    public const string StorageName = "results";
    // Two-second expiry slots, so the sweep test need not wait a minute for a slot to be due.
    private const string Url = "grainstorage://" + StorageName + "?slot_seconds=2";

    public PostgresProcess Server { get; } = new();

    // Orleans' ADO.NET storage opens a connection per storage call, and this one server serves the
    // fixture's silos, the CLI's private silo and the tests' own connections at once: a pool of
    // 20 per process keeps them all within max_connections (an uncapped pool of 100 each ran the
    // server out of connection slots, 53300, under the whole suite).
    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Server.Port};Username={SqlServerProcess.User};Password={SqlServerProcess.Password};Database={SqlServerProcess.Database};Maximum Pool Size=20";

    protected override async ValueTask<string> BackendUrlAsync()
    {
        await Server.StartAsync();
        return Url;
    }

    // A grain storage reads one state a call: saving a 10,000-child group reads each child, and
    // Orleans' ADO.NET storage did about 2,500 reads/s on this shared 2-core machine (4-5.6 s for
    // 10,000 at 8 to 1,000 in flight), past the suites' 3 s. No suite here sizes a wait by it.
    protected override TimeSpan CallTimeout => TimeSpan.FromSeconds(20);

    protected override void ConfigureSilo(Orleans.Hosting.ISiloBuilder silo) =>
        silo.Services.AddResultGridAdoNetGrainStorage(StorageName, "Npgsql", ConnectionString);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}
