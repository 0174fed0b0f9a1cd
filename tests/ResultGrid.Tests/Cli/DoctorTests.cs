using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace ResultGrid.Tests;

/// <summary>
/// `resultgrid doctor`, run as the real program in a directory of its own with an appsettings.json
/// and environment variables, as an operator runs it next to a silo's configuration.
/// </summary>
public sealed class DoctorTests(RedisCluster redis, PostgresCluster postgres, MariaDbCluster maria)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // What a Celery configuration migrated by hand may carry over: result_accept_content.
    private static readonly string[] CeleryAcceptContent = ["json", "pickle"];

    private sealed record Finding(string Id, string Severity, string? Key, string? Source, string Found, string Fix);

    private sealed record Run(int Exit, string Output, string Error)
    {
        public string All => Output + Error;

        public List<Finding> Findings
        {
            get
            {
                using var doc = JsonDocument.Parse(Output);
                return doc.RootElement.GetProperty("findings").EnumerateArray()
                    .Select(f => new Finding(f.GetProperty("id").GetString()!, f.GetProperty("severity").GetString()!, f.GetProperty("key").GetString(),
                        f.GetProperty("source").GetString(), f.GetProperty("found").GetString()!, f.GetProperty("fix").GetString()!))
                    .ToList();
            }
        }

        public override string ToString() => $"exit {Exit}\n{Output}\n{Error}";
    }

    private static string NewDirectory(string settings, string file = "appsettings.json")
    {
        var directory = Directory.CreateTempSubdirectory("rg-doctor-").FullName;
        File.WriteAllText(Path.Combine(directory, file), settings);
        return directory;
    }

    private static async Task<Run> DoctorInAsync(string directory, Dictionary<string, string>? env, params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), env ?? new Dictionary<string, string>(), directory, ["doctor", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromSeconds(90));
        return new Run(exit, cli.Output, cli.Error);
    }

    private static Task<Run> DoctorAsync(string settings, Dictionary<string, string>? env = null, params string[] arguments) =>
        DoctorInAsync(NewDirectory(settings), env, arguments);

    private static string Settings(object resultGrid) => JsonSerializer.Serialize(new { ResultGrid = resultGrid });

    [Fact]
    public async Task A_password_in_the_settings_file_is_found_named_by_its_variable_and_never_shown()
    {
        const string urlSecret = "S3cret-in-url-pw";
        const string keySecret = "Sql-file-secret";
        var directory = NewDirectory(Settings(new { Backend = $"redis://:{urlSecret}@127.0.0.1:6379/0", Sql = new { Password = keySecret } }));

        var table = await DoctorInAsync(directory, null, "--offline");
        Assert.True(table.Exit == 1, table.ToString());
        Assert.Contains("password-in-file", table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(urlSecret, table.All, StringComparison.Ordinal);
        Assert.DoesNotContain(keySecret, table.All, StringComparison.Ordinal);

        var run = await DoctorInAsync(directory, null, "--offline", "--json");
        var findings = run.Findings;
        Assert.All(findings, f => Assert.Equal("password-in-file", f.Id));
        var url = Assert.Single(findings, f => f.Key == "ResultGrid:Backend");
        Assert.Equal("appsettings.json", url.Source);
        Assert.Equal("warning", url.Severity);
        Assert.Contains("RESULTGRID__REDIS__PASSWORD", url.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain("git tracks", url.Found, StringComparison.Ordinal); // a temporary directory, in no repository
        var key = Assert.Single(findings, f => f.Key == "ResultGrid:Sql:Password");
        Assert.Contains("RESULTGRID__SQL__PASSWORD", key.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain(urlSecret, run.All, StringComparison.Ordinal);
        Assert.DoesNotContain(keySecret, run.All, StringComparison.Ordinal);

        // Committed, it is an error: the password is in the repository's history.
        await GitAsync(directory, "init", "-q");
        await GitAsync(directory, "add", "appsettings.json");
        run = await DoctorInAsync(directory, null, "--offline", "--json");
        Assert.All(run.Findings, f => Assert.Equal("error", f.Severity));
        Assert.Contains("git tracks the file", run.Findings[0].Found, StringComparison.Ordinal);
        Assert.Equal(1, run.Exit);

        // Overridden by the environment, the file still holds it.
        run = await DoctorInAsync(directory, new() { ["RESULTGRID__BACKEND"] = "redis://127.0.0.1:6379/0" }, "--offline", "--json");
        Assert.Contains("environment RESULTGRID__BACKEND overrides it", Assert.Single(run.Findings, f => f.Key == "ResultGrid:Backend").Found, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_passwords_from_the_environment_are_no_finding()
    {
        const string secret = "S3cret-from-env";
        var run = await DoctorAsync(
            Settings(new { Backend = "redis://127.0.0.1:6379/0" }),
            new() { ["RESULTGRID__REDIS__PASSWORD"] = secret, ["RESULTGRID__SQL__PASSWORD"] = secret },
            "--offline", "--json");

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Empty(run.Findings);

        // A whole URL with its password, in the environment: where it belongs.
        run = await DoctorAsync(Settings(new { Backend = "redis://127.0.0.1:6379/0" }), new() { ["RESULTGRID__BACKEND"] = $"redis://:{secret}@127.0.0.1:6379/0" }, "--offline", "--json");
        Assert.True(run.Exit == 0, run.ToString());
        Assert.Empty(run.Findings);
        Assert.DoesNotContain(secret, run.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://redis.example.internal:6379/0", "no-tls")]
    [InlineData("sentinel://sentinel.example.internal:26379/0?master_name=m", "no-tls")]
    [InlineData("db+postgresql://rg@db.example.internal/results", "no-tls")]
    [InlineData("db+mysql://rg@db.example.internal/results?ssl_mode=preferred", "no-tls")]
    [InlineData("rediss://redis.example.internal:6380/0?ssl_cert_reqs=none", "cert-verify-off")]
    [InlineData("rediss://redis.example.internal:6380/0?ssl_cert_reqs=CERT_NONE", "cert-verify-off")]
    [InlineData("db+postgresql://rg@db.example.internal/results?sslmode=require", "cert-verify-off")]
    [InlineData("db+mysql://rg@db.example.internal/results?ssl_mode=required", "cert-verify-off")]
    [InlineData("rediss://redis.example.internal:6380/0", null)]
    [InlineData("db+postgresql://rg@db.example.internal/results?sslmode=verify-full", null)]
    [InlineData("db+mysql://rg@db.example.internal/results?ssl_mode=verify_identity", null)]
    [InlineData("redis://localhost:6379/0", null)]
    [InlineData("db+postgresql://rg@127.0.0.1/results", null)]
    public async Task A_remote_backend_without_tls_or_certificate_checks_is_found(string url, string? expected)
    {
        var run = await DoctorAsync(Settings(new { Backend = url }), null, "--offline", "--json");

        if (expected is null)
        {
            Assert.True(run.Exit == 0, run.ToString());
            Assert.Empty(run.Findings);
            return;
        }

        Assert.True(run.Exit == 1, run.ToString());
        var finding = Assert.Single(run.Findings);
        Assert.Equal(expected, finding.Id);
        Assert.Equal("warning", finding.Severity);
        Assert.Equal("ResultGrid:Backend", finding.Key);
        Assert.Contains(".example.internal", finding.Found, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificate_checks_turned_off_in_the_options_name_that_key()
    {
        var run = await DoctorAsync(Settings(new { Backend = "rediss://redis.example.internal:6380/0", Redis = new { SslCertReqs = "none" } }), null, "--offline", "--json");

        var finding = Assert.Single(run.Findings);
        Assert.Equal(("cert-verify-off", "ResultGrid:Redis:SslCertReqs", "appsettings.json"), (finding.Id, finding.Key, finding.Source));
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6379/0", null, true, "no-expiry-no-cleanup", 1)]
    [InlineData("redis://127.0.0.1:6379/0", "0", true, "no-expiry-no-cleanup", 1)]
    [InlineData("memory://", "00:00:00", true, "no-expiry-no-cleanup", 1)]
    [InlineData("db+sqlite:///data/rg-doctor-never.db", "0", false, "no-expiry-no-cleanup", 1)]
    [InlineData("db+sqlite:///data/rg-doctor-never.db", "1.00:00:00", false, "no-cleanup", 0)]
    [InlineData("db+sqlite:///data/rg-doctor-never.db", "0", true, null, 0)]
    [InlineData("redis://127.0.0.1:6379/0", "1.00:00:00", true, null, 0)]
    public async Task Results_that_never_expire_and_are_never_cleaned_up_are_found(string url, string? expires, bool cleanup, string? expected, int exit)
    {
        var run = await DoctorAsync(Settings(new { Backend = url, ResultExpires = expires, Cleanup = new { Enabled = cleanup } }), null, "--offline", "--json");

        Assert.True(run.Exit == exit, run.ToString());
        Assert.Equal(expected is null ? Array.Empty<string>() : new[] { expected }, run.Findings.Select(f => f.Id));
    }

    [Fact]
    public async Task Ignore_result_set_globally_is_found_in_a_file_or_the_environment()
    {
        var run = await DoctorAsync(Settings(new { Backend = "memory://", IgnoreResult = true }), null, "--offline", "--json");

        Assert.Equal(1, run.Exit);
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("ignore-result-global", "warning", "ResultGrid:IgnoreResult", "appsettings.json"), (finding.Id, finding.Severity, finding.Key, finding.Source));
        Assert.Contains("PENDING", finding.Found, StringComparison.Ordinal);

        run = await DoctorAsync(Settings(new { Backend = "memory://" }), new() { ["RESULTGRID__IGNORERESULT"] = "true" }, "--offline", "--json");
        Assert.Equal("environment RESULTGRID__IGNORERESULT", Assert.Single(run.Findings).Source);
    }

    [Fact]
    public async Task A_sql_pool_below_the_stores_concurrency_is_found()
    {
        // 4 writers (the default) + 2 read batches (half the pool) + 1 > 4 connections.
        var run = await DoctorAsync(Settings(new { Backend = "db+postgresql://rg@127.0.0.1/results?max_pool_size=4" }), null, "--offline", "--json");

        Assert.Equal(1, run.Exit);
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("pool-below-concurrency", "ResultGrid:Backend"), (finding.Id, finding.Key));
        Assert.Contains("max_pool_size to 9", finding.Fix, StringComparison.Ordinal);

        run = await DoctorAsync(Settings(new { Backend = "db+mysql://rg@127.0.0.1/results", Sql = new { MaxPoolSize = 6, Writers = 3 } }), null, "--offline", "--json");
        Assert.Equal(("pool-below-concurrency", "ResultGrid:Sql:MaxPoolSize"), (Assert.Single(run.Findings).Id, run.Findings[0].Key));

        run = await DoctorAsync(Settings(new { Backend = "db+postgresql://rg@127.0.0.1/results?max_pool_size=9" }), null, "--offline", "--json");
        Assert.True(run.Exit == 0, run.ToString());
        Assert.Empty(run.Findings);
    }

    [Fact]
    public async Task A_mysql_store_set_to_another_isolation_level_is_found()
    {
        var run = await DoctorAsync(Settings(new { Backend = "db+mysql://rg@127.0.0.1/results?isolation_level=REPEATABLE_READ" }), null, "--offline", "--json");

        Assert.Equal(1, run.Exit);
        Assert.Equal(("mysql-isolation", "warning"), (Assert.Single(run.Findings).Id, run.Findings[0].Severity));
    }

    [Fact]
    public async Task The_environments_own_settings_file_is_read_as_the_silo_reads_it()
    {
        var directory = NewDirectory(Settings(new { Backend = "memory://" }));
        await File.WriteAllTextAsync(Path.Combine(directory, "appsettings.Staging.json"), Settings(new { IgnoreResult = true }), Ct);

        Assert.Empty((await DoctorInAsync(directory, null, "--offline", "--json")).Findings);
        Assert.Equal("appsettings.Staging.json", Assert.Single((await DoctorInAsync(directory, null, "--offline", "--json", "--environment", "Staging")).Findings).Source);
        Assert.Equal("ignore-result-global", Assert.Single((await DoctorInAsync(directory, new() { ["DOTNET_ENVIRONMENT"] = "Staging" }, "--offline", "--json")).Findings).Id);

        // ASP.NET Core's variable names no environment for the silo's generic host: said so, not followed.
        var run = await DoctorInAsync(directory, new() { ["ASPNETCORE_ENVIRONMENT"] = "Staging" }, "--offline", "--json");
        Assert.Equal("environment-ignored", Assert.Single(run.Findings).Id);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    [Trait("Backend", "mariadb")]
    [Trait("Backend", "sqlite")]
    public async Task A_clean_configuration_on_real_servers_has_no_findings()
    {
        // PostgreSQL and MariaDB with the password in the environment, where it belongs.
        var env = new Dictionary<string, string> { ["RESULTGRID__SQL__PASSWORD"] = SqlServerProcess.Password };
        var pg = await DoctorAsync(Settings(new { Backend = $"db+postgresql://{SqlServerProcess.User}@127.0.0.1:{postgres.Server.Port}/{SqlServerProcess.Database}" }), env, "--json");
        Assert.True(pg.Exit == 0, pg.ToString());
        Assert.Empty(pg.Findings);
        Assert.DoesNotContain(SqlServerProcess.Password, pg.All, StringComparison.Ordinal);

        // MariaDB's default isolation (REPEATABLE-READ) is reported, as a note: the store sets its own.
        var mysql = await DoctorAsync(Settings(new { Backend = $"db+mysql://{SqlServerProcess.User}@127.0.0.1:{maria.Server.Port}/{SqlServerProcess.Database}" }), env, "--json");
        Assert.True(mysql.Exit == 0, mysql.ToString());
        Assert.All(mysql.Findings, f => Assert.Equal(("mysql-isolation", "info"), (f.Id, f.Severity)));

        // A SQLite file the store created, in a table output.
        var file = Path.Combine(Directory.CreateTempSubdirectory("rg-doctor-sqlite-").FullName, "results.db");
        await using (var store = SqliteStore(file, new ResultGrid.Storage.Sql.SqlResultStoreOptions()))
        {
            await store.InitializeAsync(Ct);
        }

        var sqlite = await DoctorAsync(Settings(new { Backend = $"db+sqlite:///{file}" }));
        Assert.True(sqlite.Exit == 0, sqlite.ToString());
        Assert.Contains("No problems found", sqlite.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "redis")]
    public async Task A_redis_without_persistence_is_found_from_the_server()
    {
        // The test server runs with neither RDB nor AOF (scripts/test.sh, RedisServer).
        var run = await DoctorAsync(Settings(new { Backend = await redis.Server.UrlAsync() }), null, "--json");

        Assert.True(run.Exit == 1, run.ToString());
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("redis-no-persistence", "warning"), (finding.Id, finding.Severity));
        Assert.Contains("appendonly", finding.Fix, StringComparison.Ordinal);

        // Offline, the server is not asked.
        Assert.Empty((await DoctorAsync(Settings(new { Backend = await redis.Server.UrlAsync() }), null, "--json", "--offline")).Findings);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task A_dropped_cleanup_index_is_found_and_check_shows_it_too()
    {
        // Tables of this test's own in the shared PostgreSQL: the other tests' tables stay intact.
        var table = $"doctor_{Guid.NewGuid():N}"[..20];
        var options = new ResultGrid.Storage.Sql.SqlResultStoreOptions { TaskTable = table, GroupTable = table + "_groups" };
        await using (var store = new ResultGrid.Storage.Sql.SqlResultStore(
            ResultGrid.Storage.Sql.SqlStoreSettings.Create(ResultGrid.Storage.BackendUrl.Parse(postgres.Server.Url), options),
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        {
            await store.InitializeAsync(Ct);
        }

        await using (var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={postgres.Server.Port};Username={SqlServerProcess.User};Password={SqlServerProcess.Password};Database={SqlServerProcess.Database}"))
        {
            await connection.OpenAsync(Ct);
            await using var drop = new NpgsqlCommand($"DROP INDEX \"ix_{table}_expires_at\"", connection);
            await drop.ExecuteNonQueryAsync(Ct);
        }

        var env = new Dictionary<string, string> { ["RESULTGRID__SQL__PASSWORD"] = SqlServerProcess.Password };
        var url = $"db+postgresql://{SqlServerProcess.User}@127.0.0.1:{postgres.Server.Port}/{SqlServerProcess.Database}";
        var run = await DoctorAsync(Settings(new { Backend = url, Sql = new { TaskTable = table, GroupTable = table + "_groups" } }), env, "--json");

        Assert.True(run.Exit == 1, run.ToString());
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("missing-cleanup-index", "warning"), (finding.Id, finding.Severity));
        Assert.Contains($"ix_{table}_expires_at", finding.Found, StringComparison.Ordinal);
        Assert.Contains("CREATE INDEX", finding.Fix, StringComparison.Ordinal);

        // doctor only looked: the index is still missing, and check (which would create it) reports it when told not to.
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), env, arguments: ["check", $"{url}?task_table={table}&group_table={table}_groups&create_tables=false", "--json"]);
        Assert.Equal(0, await cli.Exit(TimeSpan.FromSeconds(60)));
        using var report = JsonDocument.Parse(cli.Output);
        var indexes = report.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cleanup indexes");
        Assert.Equal("warn", indexes.GetProperty("outcome").GetString());
        Assert.Contains($"ix_{table}_expires_at", indexes.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_sqlite_file_without_its_cleanup_index_is_found()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("rg-doctor-sqlite-").FullName, "results.db");
        await using (var store = SqliteStore(file, new ResultGrid.Storage.Sql.SqlResultStoreOptions()))
        {
            await store.InitializeAsync(Ct);
        }

        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=false"))
        {
            await connection.OpenAsync(Ct);
            await using var drop = connection.CreateCommand();
            drop.CommandText = "DROP INDEX ix_resultgrid_groups_expires_at";
            await drop.ExecuteNonQueryAsync(Ct);
        }

        var run = await DoctorAsync(Settings(new { Backend = $"db+sqlite:///{file}" }), null, "--json");

        Assert.Equal("missing-cleanup-index", Assert.Single(run.Findings).Id);
        Assert.Contains("ix_resultgrid_groups_expires_at", run.Findings[0].Found, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis//missing-colon", "has no scheme")]
    [InlineData("db+postgresql://rg:S3cret-pw@db.example.internal", "needs one database name")]
    [InlineData("redis://127.0.0.1:6379/0?ssl_cert_reqs=maybe", "ssl_cert_reqs")]
    public async Task A_bad_url_is_one_line_and_exit_2(string url, string expected)
    {
        var run = await DoctorAsync(Settings(new { Backend = url }), null, "--offline");

        Assert.True(run.Exit == 2, run.ToString());
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Contains("ResultGrid:Backend", line, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cret-pw", run.All, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_type_loading_codec_from_celery_is_refused_as_the_silo_refuses_it()
    {
        var run = await DoctorAsync(Settings(new { Backend = "memory://", Serialization = new { AcceptContent = CeleryAcceptContent } }), null, "--offline", "--json");

        Assert.Equal(2, run.Exit);
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("config-invalid", "ResultGrid:Serialization:AcceptContent"), (finding.Id, finding.Key));
        Assert.Contains("'pickle', which is not a known codec", finding.Found, StringComparison.Ordinal);
        Assert.Contains("loads types", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_one_finding_with_exit_1_and_no_stack_trace()
    {
        var port = FreePort.Get();
        var settings = Settings(new { Backend = $"db+postgresql://rg@127.0.0.1:{port}/reports" });
        var env = new Dictionary<string, string> { ["RESULTGRID__SQL__PASSWORD"] = "S3cret-pw" };

        var run = await DoctorAsync(settings, env, "--json");

        Assert.True(run.Exit == 1, run.ToString());
        var finding = Assert.Single(run.Findings);
        Assert.Equal(("backend-unreachable", "error"), (finding.Id, finding.Severity));
        Assert.Contains($"127.0.0.1:{port}", finding.Found, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', finding.Found);
        Assert.Empty(run.Error.Trim());

        var table = await DoctorAsync(settings, env);
        Assert.Equal(1, table.Exit);
        Assert.Contains("backend-unreachable", table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.All + table.All, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cret-pw", run.All + table.All, StringComparison.Ordinal);
    }

    private static ResultGrid.Storage.Sql.SqlResultStore SqliteStore(string file, ResultGrid.Storage.Sql.SqlResultStoreOptions options) =>
        new(ResultGrid.Storage.Sql.SqlStoreSettings.Create(ResultGrid.Storage.BackendUrl.Parse($"db+sqlite:///{file}"), options),
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    private static async Task GitAsync(string directory, params string[] arguments)
    {
        var (exit, _, error) = await ProcessTests.RunToEndAsync("git", arguments, directory);
        Assert.True(exit == 0, $"git {string.Join(' ', arguments)}: {error}");
    }
}
