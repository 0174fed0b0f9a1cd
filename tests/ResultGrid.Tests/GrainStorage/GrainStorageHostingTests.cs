using Microsoft.Extensions.Configuration;
using Npgsql;
using ResultGrid.Hosting;

namespace ResultGrid.Tests;

/// <summary>
/// grainstorage:// in the silo host: ResultGrid:GrainStorage refused before Orleans starts with
/// the key, the fault and what is allowed; a real silo host process that registers Orleans'
/// ADO.NET storage on PostgreSQL and creates its table, unique key and stored queries; a name
/// that no storage is registered under refused at start, naming the registered ones.
/// </summary>
[Collection(GrainStoragePostgresCluster.Name)]
public sealed class GrainStorageHostingTests(GrainStoragePostgresCluster cluster)
{
    private const string Secret = "s3cret-never-shown";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Settings as "Key=value|Key=value" under ResultGrid:GrainStorage ("Backend" is ResultGrid:Backend).
    public static TheoryData<string, string, string> Refused => new()
    {
        { "Provider=sqlserver", "ResultGrid:GrainStorage:Provider is 'sqlserver'", "allowed: adonet" },
        { "Provider=adonet|Invariant=System.Data.SqlClient|ConnectionString=Host=h", "ResultGrid:GrainStorage:Invariant is 'System.Data.SqlClient'", "takes Npgsql or MySql.Data.MySqlConnector" },
        { $"Provider=adonet|Invariant=Npgsql|ConnectionString=Hots=h;Password={Secret}", "ResultGrid:GrainStorage:ConnectionString is not a Npgsql connection string", "keyword=value pairs" },
        { $"Provider=adonet|Invariant=MySql.Data.MySqlConnector|ConnectionString=Sevrer=h;Password={Secret}", "is not a MySqlConnector connection string", "keyword=value pairs" },
        { $"Provider=redis|ConnectionString=127.0.0.1:6379,password={Secret},nonsense=1", "is not a StackExchange.Redis configuration", "host:port" },
        { "Provider=redis|Invariant=Npgsql|ConnectionString=127.0.0.1:6379", "ResultGrid:GrainStorage:Invariant is 'Npgsql', but the redis provider takes none", "remove it" },
        { "Provider=adonet|Invariant=Npgsql", "ResultGrid:GrainStorage:ConnectionString is not set", "RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING" },
        { "Provider=redis|Name=bad/name|ConnectionString=127.0.0.1:6379", "ResultGrid:GrainStorage:Name", "1 to 128 letters, digits" },
        { "Provider=adonet|Url=db+sqlite:///x.db", "ResultGrid:GrainStorage:Url:", "db+postgresql:// or db+mysql://" },
        { "Provider=adonet|Url=db+postgresql://u@h/db|Invariant=Npgsql", "ResultGrid:GrainStorage:Url is set with Invariant or ConnectionString", "not both" },
        { "Backend=grainstorage://results?prefix=x", "has the unknown parameter 'prefix'", "accepts only slot_seconds" },
        { "Backend=grainstorage://results?slot_seconds=0", "slot_seconds=0", "from 1 to 3600" },
        { "Backend=grainstorage://", "names no grain storage", "grainstorage://NAME" },
    };

    [Theory, MemberData(nameof(Refused))]
    public void Bad_grain_storage_settings_are_refused_before_the_silo_starts(string settings, string names, string allowed)
    {
        var values = new Dictionary<string, string?> { ["ResultGrid:Backend"] = "memory://" };
        foreach (var pair in settings.Split('|'))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            values[pair[..at] == "Backend" ? "ResultGrid:Backend" : $"ResultGrid:GrainStorage:{pair[..at]}"] = pair[(at + 1)..];
        }

        var failures = SiloConfiguration.Validate(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

        var failure = Assert.Single(failures, f => f.Contains(names, StringComparison.Ordinal));
        Assert.Contains(allowed, failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, string.Join('\n', failures), StringComparison.Ordinal);
    }

    [Fact]
    public void Good_grain_storage_settings_are_accepted()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ResultGrid:Backend"] = "grainstorage://results",
            ["ResultGrid:GrainStorage:Name"] = "results",
            ["ResultGrid:GrainStorage:Provider"] = "adonet",
            ["ResultGrid:GrainStorage:Invariant"] = "Npgsql",
            ["ResultGrid:GrainStorage:ConnectionString"] = cluster.ConnectionString,
        }).Build();

        Assert.Empty(SiloConfiguration.Validate(configuration));
    }

    [Fact]
    [Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
    public async Task The_silo_host_keeps_results_in_Orleans_ADO_NET_storage_and_creates_its_tables()
    {
        var database = $"gs_host_{Guid.NewGuid():N}";
        await ExecuteAsync(cluster.ConnectionString, $"CREATE DATABASE {database}");
        var connectionString = cluster.ConnectionString.Replace($"Database={SqlServerProcess.Database}", $"Database={database}", StringComparison.Ordinal);
        var env = SiloEnv();
        env["RESULTGRID__BACKEND"] = "grainstorage://results";
        env["RESULTGRID__GRAINSTORAGE__NAME"] = "results";
        env["RESULTGRID__GRAINSTORAGE__PROVIDER"] = "adonet";
        env["RESULTGRID__GRAINSTORAGE__INVARIANT"] = "Npgsql";
        env["RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING"] = connectionString;
        await using (var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), env))
        {
            await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(90));
            Assert.Contains("backend grainstorage://results", silo.Output, StringComparison.Ordinal);
        }

        // Orleans' table, ResultGrid's unique key on a state's identity, and the four stored queries.
        Assert.Equal(1L, await ScalarAsync(connectionString, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'orleansstorage'"));
        Assert.Equal(1L, await ScalarAsync(connectionString, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ux_orleansstorage_identity'"));
        Assert.Equal(4L, await ScalarAsync(connectionString,
            "SELECT count(*) FROM orleansquery WHERE querykey IN ('WriteToStorageKey', 'ReadFromStorageKey', 'ClearStorageKey', 'DeleteStorageKey')"));
    }

    [Fact]
    [Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
    public async Task A_backend_naming_no_registered_storage_stops_the_start_naming_those_registered()
    {
        var env = SiloEnv();
        env["RESULTGRID__BACKEND"] = "grainstorage://elsewhere";
        env["RESULTGRID__GRAINSTORAGE__NAME"] = "results";
        env["RESULTGRID__GRAINSTORAGE__PROVIDER"] = "adonet";
        env["RESULTGRID__GRAINSTORAGE__INVARIANT"] = "Npgsql";
        env["RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING"] = cluster.ConnectionString;
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), env);

        Assert.NotEqual(0, await silo.Exit(TimeSpan.FromSeconds(90)));
        Assert.Contains("no Orleans IGrainStorage is registered under that name", silo.Error, StringComparison.Ordinal);
        Assert.Contains("registered: 'results'", silo.Error, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> SiloEnv() => new()
    {
        ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__CLUSTERID"] = $"gs-{Guid.NewGuid():N}",
        ["RESULTGRID__HTTP__URLS"] = "",
    };

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
