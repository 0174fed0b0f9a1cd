using ResultGrid.Hosting;

namespace ResultGrid.Tests;

/// <summary>
/// grainstorage://results over Orleans' ADO.NET grain storage on a MariaDB server of its own
/// (the tests' MariaDbProcess, driver MySqlConnector), its table and procedures created by the silos.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GrainStorageMariaDbCluster() : ResultCluster(Url), ICollectionFixture<GrainStorageMariaDbCluster>
{
    public const string Name = "grainstorage-mariadb";
    public const string StorageName = "results";
    private const string Url = "grainstorage://" + StorageName;

    public MariaDbProcess Server { get; } = new();

    public string ConnectionString =>
        $"Server=127.0.0.1;Port={Server.Port};User ID={SqlServerProcess.User};Password={SqlServerProcess.Password};Database={SqlServerProcess.Database}";

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
        silo.Services.AddResultGridAdoNetGrainStorage(StorageName, "MySql.Data.MySqlConnector", ConnectionString);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}
