using System.Globalization;

namespace ResultGrid.Tests;

/// <summary>
/// The silo host (src/Silo, the real process) started with one bad setting at a time: a value
/// of every options section that does not parse, values the validators refuse, backend URLs of
/// each scheme that cannot be used (exit code 2, before anything is reached), and backends that
/// refuse (exit code 1): an unreachable Redis or PostgreSQL, a Redis database the server does not
/// have, a wrong password. Each says so in one message on stderr that names the setting, the
/// value and what is allowed, without a stack trace or the hosting framework's own error log.
/// </summary>
public sealed class SiloConfigurationCorpusTests(RedisCluster redis, PostgresCluster postgres)
{
    private const string Silo = "src/Silo";

    // Settings → exit code, fragments of stderr. "@settings=JSON" is an appsettings file of the row's own.
    public static TheoryData<string, string[], int, string[]> Rows => new()
    {
        // Values that do not parse as their option's type, one per section (exit code 2, before Orleans).
        { "ResultExpires not a time span", ["RESULTGRID__RESULTEXPIRES=banana"], 2, ["ResultGrid:ResultExpires: 'banana' is not a time span", "1.00:00:00", "a bare number counts days"] },
        { "ExpireAfterRead not a time span", ["RESULTGRID__EXPIREAFTERREAD=soon"], 2, ["ResultGrid:ExpireAfterRead: 'soon'", "time span"] },
        { "MaxResultBytes not a number", ["RESULTGRID__MAXRESULTBYTES=16MB"], 2, ["ResultGrid:MaxResultBytes: '16MB' is not a whole number"] },
        { "ExtendedResults not a flag", ["RESULTGRID__EXTENDEDRESULTS=yes"], 2, ["ResultGrid:ExtendedResults: 'yes' is not true or false"] },
        { "SiloPort not a number", ["RESULTGRID__SILO__SILOPORT=eleven"], 2, ["ResultGrid:Silo:SiloPort: 'eleven' is not a whole number"] },
        { "GatewayPort beyond a whole number", ["RESULTGRID__SILO__GATEWAYPORT=99999999999"], 2, ["ResultGrid:Silo:GatewayPort: '99999999999' is not a whole number (from -2147483648 to 2147483647)"] },
        { "PrimarySiloPort not a number", ["RESULTGRID__SILO__PRIMARYSILOPORT=primary"], 2, ["ResultGrid:Silo:PrimarySiloPort: 'primary'"] },
        { "ListenOnAnyAddress not a flag", ["RESULTGRID__SILO__LISTENONANYADDRESS=maybe"], 2, ["ResultGrid:Silo:ListenOnAnyAddress: 'maybe' is not true or false"] },
        { "Redis SocketTimeout not a time span", ["RESULTGRID__REDIS__SOCKETTIMEOUT=5s"], 2, ["ResultGrid:Redis:SocketTimeout: '5s' is not a time span"] },
        { "Redis Retry MaxRetries not a number", ["RESULTGRID__REDIS__RETRY__MAXRETRIES=many"], 2, ["ResultGrid:Redis:Retry:MaxRetries: 'many' is not a whole number"] },
        { "Sql MaxPoolSize not a number", ["RESULTGRID__SQL__MAXPOOLSIZE=big"], 2, ["ResultGrid:Sql:MaxPoolSize: 'big' is not a whole number"] },
        { "Sql CreateTables not a flag", ["RESULTGRID__SQL__CREATETABLES=on"], 2, ["ResultGrid:Sql:CreateTables: 'on' is not true or false"] },
        { "Serialization CompressionLevel not a number", ["RESULTGRID__SERIALIZATION__COMPRESSIONLEVEL=max"], 2, ["ResultGrid:Serialization:CompressionLevel: 'max'"] },
        { "Cleanup Interval not a time span", ["RESULTGRID__CLEANUP__INTERVAL=hourly"], 2, ["ResultGrid:Cleanup:Interval: 'hourly' is not a time span"] },
        { "Client WaitSlice not a time span", ["RESULTGRID__CLIENT__WAITSLICE=long"], 2, ["ResultGrid:Client:WaitSlice: 'long' is not a time span"] },
        { "Notifications RetryFor not a time span", ["RESULTGRID__NOTIFICATIONS__RETRYFOR=forever"], 2, ["ResultGrid:Notifications:RetryFor: 'forever' is not a time span"] },
        { "Notifications AwaitDelivery not a flag", ["RESULTGRID__NOTIFICATIONS__AWAITDELIVERY=sometimes"], 2, ["ResultGrid:Notifications:AwaitDelivery: 'sometimes' is not true or false"] },
        { "Client RetryBudget negative", ["RESULTGRID__CLIENT__RETRYBUDGET=-00:00:05"], 2, ["ResultGrid:Client:RetryBudget is -00:00:05; it must be from 00:00:00"] },
        { "unknown log level", ["Logging__LogLevel__Default=loud"], 2, ["Logging:LogLevel:Default: 'loud' is not a log level", "Information"] },
        { "three bad values at once, each named", ["RESULTGRID__RESULTEXPIRES=x", "RESULTGRID__SILO__SILOPORT=y", "RESULTGRID__CLEANUP__BATCHSIZE=z"], 2, ["ResultGrid:ResultExpires: 'x'", "ResultGrid:Silo:SiloPort: 'y'", "ResultGrid:Cleanup:BatchSize: 'z'"] },
        { "settings file not JSON", ["@settings={\n  \"ResultGrid\": {\n    \"Backend\": \"memory://\"\n  }}\n}\n"], 2, ["is not valid JSON", "(line 5, column 1)"] },

        // Values that parse but the validators refuse (exit code 2).
        { "port out of range", ["RESULTGRID__SILO__GATEWAYPORT=70000"], 2, ["ResultGrid:Silo:GatewayPort is 70000; a port is from 1 to 65535"] },
        { "port zero", ["RESULTGRID__SILO__SILOPORT=0"], 2, ["ResultGrid:Silo:SiloPort is 0"] },
        { "unknown clustering", ["RESULTGRID__SILO__CLUSTERING=zookeeper"], 2, ["ResultGrid:Silo:Clustering is 'zookeeper'; supported: localhost, redis, sql"] },
        { "advertised address not an address", ["RESULTGRID__SILO__ADVERTISEDADDRESS=my-host"], 2, ["ResultGrid:Silo:AdvertisedAddress is 'my-host'"] },
        { "negative MaxResultBytes", ["RESULTGRID__MAXRESULTBYTES=-5"], 2, ["ResultGrid:MaxResultBytes is -5; it must be from 1024"] },
        { "negative ResultExpires", ["RESULTGRID__RESULTEXPIRES=-01:00:00"], 2, ["ResultGrid:ResultExpires is -01:00:00"] },
        { "cleanup batch of zero", ["RESULTGRID__CLEANUP__BATCHSIZE=0"], 2, ["ResultGrid:Cleanup:BatchSize is 0; it must be from 1 to 100000"] },
        { "cleanup at no time of day", ["RESULTGRID__CLEANUP__DAILYAT=25:00"], 2, ["ResultGrid:Cleanup:DailyAt is '25:00'", "HH:mm"] },
        { "pickle serializer", ["RESULTGRID__SERIALIZATION__SERIALIZER=pickle"], 2, ["pickle"] },
        { "redis clustering without a redis URL", ["RESULTGRID__SILO__CLUSTERING=redis", "RESULTGRID__BACKEND=memory://"], 2, ["ResultGrid:Silo:Clustering is redis, but ResultGrid:Silo:ClusteringUrl"] },

        // The HTTP API's settings (exit code 2), keys named by index and never echoed.
        { "HTTP URL not http", ["RESULTGRID__HTTP__URLS=ftp://127.0.0.1:2121"], 2, ["ResultGrid:Http:Urls has 'ftp://127.0.0.1:2121', which is not an http:// or https:// URL"] },
        { "HTTP key too short", ["RESULTGRID__HTTP__KEYS__0__NAME=ci", "RESULTGRID__HTTP__KEYS__0__SECRET=tiny", "RESULTGRID__HTTP__KEYS__0__ROLES=read"], 2, ["ResultGrid:Http:Keys:0:Secret has 4 characters; an API key needs at least 16"] },
        { "HTTP key with an unknown role", ["RESULTGRID__HTTP__KEYS__0__NAME=ci", "RESULTGRID__HTTP__KEYS__0__SHA256=" + new string('a', 64), "RESULTGRID__HTTP__KEYS__0__ROLES=read,admin"], 2, ["ResultGrid:Http:Keys:0:Roles has 'admin'; roles are read, write, operate"] },
        { "HTTP key in a settings file", ["@settings={\"ResultGrid\": {\"Http\": {\"Keys\": [{\"Name\": \"ci\", \"Secret\": \"committed-secret-0123456789\", \"Roles\": \"read\"}]}}}"], 2, ["ResultGrid:Http:Keys:0:Secret is set in", "from the environment only (RESULTGRID__HTTP__KEYS__0__SECRET)"] },
        { "HTTP anonymous network not a network", ["RESULTGRID__HTTP__ANONYMOUSNETWORKS__0=10.0.0.0/33"], 2, ["ResultGrid:Http:AnonymousNetworks has '10.0.0.0/33', which is not a network"] },
        { "HTTP wait limit out of range", ["RESULTGRID__HTTP__MAXWAITSECONDS=0"], 2, ["ResultGrid:Http:MaxWaitSeconds is 0; it must be from 1 to 3600"] },

        // Backend URLs of each scheme that cannot be used (exit code 2).
        { "URL without a scheme", ["RESULTGRID__BACKEND=redis//missing-colon"], 2, ["ResultGrid:Backend", "has no scheme"] },
        { "unknown scheme", ["RESULTGRID__BACKEND=mongodb://127.0.0.1/results"], 2, ["ResultGrid:Backend", "mongodb"] },
        { "redis port not a number", ["RESULTGRID__BACKEND=redis://127.0.0.1:port/0"], 2, ["ResultGrid:Backend"] },
        { "redis URL parameter not a number", ["RESULTGRID__BACKEND={redis}/0?socket_timeout=fast"], 2, ["ResultGrid:Backend", "socket_timeout"] },
        { "redis max_connections out of range", ["RESULTGRID__BACKEND={redis}/0?max_connections=0"], 2, ["max_connections is 0; it must be from 1 to 64"] },
        { "unknown redis URL parameter", ["RESULTGRID__BACKEND={redis}/0?bogus_option=1"], 2, ["ResultGrid:Backend", "bogus_option"] },
        { "postgres URL parameter not a number", ["RESULTGRID__BACKEND={pg}?max_pool_size=lots"], 2, ["ResultGrid:Backend", "max_pool_size"] },
        { "memory partitions out of range", ["RESULTGRID__BACKEND=memory://?partitions=0"], 2, ["ResultGrid:Backend", "partitions"] },
        { "secondary backend in memory", ["RESULTGRID__BACKEND={redis}/0", "RESULTGRID__SECONDARYBACKEND=memory://"], 2, ["ResultGrid:SecondaryBackend", "two durable backends"] },

        // Backends that refuse (exit code 1).
        { "unreachable redis", ["RESULTGRID__BACKEND=redis://127.0.0.1:{free}/0", "RESULTGRID__REDIS__CONNECTTIMEOUT=00:00:01"], 1, ["could not start", "Could not connect to Redis at 127.0.0.1:{free}", "Check that a Redis server runs", "--verbose"] },
        { "redis database the server lacks", ["RESULTGRID__BACKEND={redis}/99"], 1, ["could not start", "refused database 99", "16 by default"] },
        { "redis database the server lacks, as db=", ["RESULTGRID__BACKEND={redis}?db=42"], 1, ["refused database 42"] },
        { "unreachable postgres", ["RESULTGRID__BACKEND=db+postgresql://rg@127.0.0.1:{free}/resultgrid", "RESULTGRID__SQL__CONNECTTIMEOUT=00:00:02", "RESULTGRID__SQL__RETRY__MAXRETRIES=0"], 1, ["could not start", "127.0.0.1:{free}"] },
        { "wrong postgres password", ["RESULTGRID__BACKEND={pg-wrong}"], 1, ["could not start", "rg:***@127.0.0.1", "password authentication failed"] },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task A_bad_setting_is_one_message_naming_it_with_the_documented_exit_code(string row, string[] settings, int exit, string[] fragments)
    {
        var places = await CorpusPlaces.CreateAsync(redis, postgres);
        var env = SiloEnvironment();
        string? settingsFile = null;
        foreach (var (key, value) in CorpusAssert.Environment(places, settings))
        {
            if (key == "@settings")
            {
                // An appsettings.{Environment}.json of the row's own, beside the built silo's appsettings.json.
                var environment = $"Corpus{Guid.NewGuid():N}";
                settingsFile = Path.Combine(Path.GetDirectoryName(ProcessTests.Built(Silo, "ResultGrid.Silo"))!, $"appsettings.{environment}.json");
                await File.WriteAllTextAsync(settingsFile, value, TestContext.Current.CancellationToken);
                env["DOTNET_ENVIRONMENT"] = environment;
            }
            else
            {
                env[key] = value;
            }
        }

        try
        {
            await using var silo = new ProcessTests.Running(ProcessTests.Built(Silo, "ResultGrid.Silo"), env);
            var code = await silo.Exit(TimeSpan.FromSeconds(90));
            CorpusAssert.Holds(row, exit, [.. fragments.Select(places.Expand)], code, silo.Output, silo.Error);
            foreach (var secret in new[] { "tiny", "committed-secret-0123456789" })
            {
                // An API key is named by its index, never repeated, wherever it was refused.
                Assert.DoesNotContain(secret, silo.Output + silo.Error, StringComparison.Ordinal);
            }

            if (exit == 2)
            {
                // A configuration error is told before anything starts: nothing on stdout at all.
                Assert.True(string.IsNullOrWhiteSpace(silo.Output), $"{row}: stdout is not empty:\n{silo.Output}");
            }
        }
        finally
        {
            if (settingsFile is not null)
            {
                File.Delete(settingsFile);
            }
        }
    }

    [Fact]
    public async Task Verbose_shows_the_stack_trace_and_every_log_entry()
    {
        var env = SiloEnvironment();
        env["RESULTGRID__BACKEND"] = $"redis://127.0.0.1:{FreePort.Get()}/0";
        env["RESULTGRID__REDIS__CONNECTTIMEOUT"] = "00:00:01";
        await using var silo = new ProcessTests.Running(ProcessTests.Built(Silo, "ResultGrid.Silo"), env, arguments: ["--verbose"]);

        Assert.Equal(1, await silo.Exit(TimeSpan.FromSeconds(90)));
        Assert.Contains("could not start", silo.Error, StringComparison.Ordinal);
        Assert.Contains("   at ", silo.Error, StringComparison.Ordinal);
        // The loggers' entries, as they happened.
        Assert.Contains("fail: ResultGrid.Grains.ResultStores", silo.Output, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> SiloEnvironment() => new()
    {
        ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__CLUSTERID"] = $"corpus-{Guid.NewGuid():N}",
    };
}
