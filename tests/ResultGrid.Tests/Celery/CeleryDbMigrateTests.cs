using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Hosting;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;
using ResultGrid.Storage.Sql.Celery;

namespace ResultGrid.Tests;

/// <summary>
/// Debian's Celery 5.2 writes its database backend's tables (SQLAlchemy, pickled result
/// column) on PostgreSQL and SQLite with result_extended on; `resultgrid migrate --from
/// celery+db+…` copies them into ResultGrid's own SQL tables, refuses the one row whose pickle
/// would run code, and its verify pass agrees.
/// </summary>
public sealed class CeleryDbMigrateTests(PostgresCluster postgres, MariaDbCluster maria)
{
    private const string Python = "/usr/bin/python3";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What celery_db.py wrote: results by id (their expected JSON) and the group.</summary>
    private static async Task<JsonElement> CeleryWritesAsync(string celeryUrl, string marker)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Celery", "celery_db.py");
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, [script, "write", celeryUrl, marker]);
        Assert.True(exit == 0, $"celery_db.py write exited {exit}:\n{error}\n(install python3-celery python3-sqlalchemy python3-psycopg2: ./scripts/test.sh does)");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static async Task<(int Exit, JsonElement Report, string Error)> MigrateAsync(params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: ["migrate", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromMinutes(3));
        return (exit, cli.Output.TrimStart().StartsWith('{') ? JsonDocument.Parse(cli.Output).RootElement.Clone() : default, cli.Error + cli.Output);
    }

    private static async Task<IResultStore> TargetAsync(string url)
    {
        IResultStore store = url.StartsWith("redis://", StringComparison.Ordinal)
            ? new RedisResultStore(RedisStoreSettings.Create(BackendUrl.Parse(url), new RedisResultStoreOptions()), TimeProvider.System, NullLogger.Instance)
            : new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(url), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    [Trait("Backend", "sqlite")]
    public async Task Celery_postgresql_tables_migrate_to_sqlite_with_values_failures_groups_and_extended_fields() =>
        await MigrateAndCheckAsync(await HttpTests.NewPostgresDatabaseAsync(postgres), HttpTests.NewSqliteUrl(out _));

    [Fact]
    [Trait("Backend", "postgresql")]
    [Trait("Backend", "sqlite")]
    public async Task Celery_sqlite_tables_migrate_to_postgresql_with_values_failures_groups_and_extended_fields() =>
        await MigrateAndCheckAsync(HttpTests.NewSqliteUrl(out _), await HttpTests.NewPostgresDatabaseAsync(postgres));

    [Fact]
    [Trait("Backend", "mysql")]
    [Trait("Backend", "redis")]
    public async Task Celery_mariadb_tables_migrate_to_redis_with_values_failures_groups_and_extended_fields()
    {
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        var targetUrl = $"redis://127.0.0.1:{redis.Port}/0";
        await MigrateAndCheckAsync(await NewMariaDbDatabaseAsync(), targetUrl);
    }

    /// <summary>A database of its own on the MariaDB fixture's server, as Celery's URL (SQLAlchemy's pymysql driver).</summary>
    private async Task<string> NewMariaDbDatabaseAsync()
    {
        var server = maria.Server;
        var name = $"celery_{Guid.NewGuid():N}"[..24];
        await using (var connection = new MySqlConnector.MySqlConnection($"Server=127.0.0.1;Port={server.Port};User ID={SqlServerProcess.User};Password={SqlServerProcess.Password}"))
        {
            await connection.OpenAsync(Ct);
            await using var command = new MySqlConnector.MySqlCommand($"CREATE DATABASE {name} CHARACTER SET utf8mb4", connection);
            await command.ExecuteNonQueryAsync(Ct);
        }

        return $"db+mysql+pymysql://{SqlServerProcess.User}:{SqlServerProcess.Password}@127.0.0.1:{server.Port}/{name}";
    }

    private static async Task MigrateAndCheckAsync(string celeryUrl, string targetUrl)
    {
        var marker = Path.Combine(Path.GetTempPath(), $"rg-pwned-{Guid.NewGuid():N}");
        var written = await CeleryWritesAsync(celeryUrl, marker);
        Assert.False(File.Exists(marker), "the script itself must not create the marker");
        var source = "celery+" + celeryUrl;
        var state = Path.Combine(Directory.CreateTempSubdirectory("rg-celerydb-").FullName, "state.json");

        var (exit, report, error) = await MigrateAsync("--from", source, "--to", targetUrl, "--state", state, "--json");

        // One row refused: the copy says so in its exit code and report, and goes on with the rest.
        Assert.True(exit == 1, $"exit {exit}: {error}");
        var copy = report.GetProperty("copy");
        Assert.Equal(1, copy.GetProperty("problem_count").GetInt64());
        var problem = copy.GetProperty("problems")[0];
        Assert.Equal("evil-1", problem.GetProperty("id").GetString());
        Assert.Contains("task 'evil-1': the result is a pickled call of builtins.exec, which ResultGrid will not load", problem.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "reading the refused row ran its pickle");

        var results = written.GetProperty("results").EnumerateObject().ToArray();
        // The shapes, started-1, three failures and pickle-success; not evil-1 (refused) or expired-1 (past result_expires).
        var expectedCopied = results.Length + 5;
        Assert.Equal(expectedCopied + 1, copy.GetProperty("results_scanned").GetInt64());
        Assert.Equal(expectedCopied, copy.GetProperty("results_added").GetInt64());
        Assert.Equal(1, copy.GetProperty("groups_added").GetInt64());
        var verify = report.GetProperty("verify");
        Assert.True(verify.GetProperty("passed").GetBoolean(), report.ToString());
        Assert.Equal(expectedCopied, verify.GetProperty("target_results_matching").GetInt64());

        var target = await TargetAsync(targetUrl);
        await using var closeTarget = (IAsyncDisposable)target;
        foreach (var result in results)
        {
            var copied = await target.ReadAsync(result.Name, Ct);
            Assert.NotNull(copied);
            Assert.Equal(TaskStates.Success, copied.State);
            // A JSON null is kept as no payload, as every ResultGrid store keeps it.
            PickleReaderTests.AssertSameJson(result.Value.GetString()!, copied.Payload is null ? "null" : Encoding.UTF8.GetString(copied.Payload.Data), result.Name);
            Assert.NotNull(copied.DateDone);
            // Celery keeps no expiry: the row goes result_expires (a day) after date_done.
            Assert.InRange((copied.ExpiresAt!.Value - copied.DateDone!.Value).TotalSeconds, 86_399, 86_401);
        }

        var ints = await target.ReadAsync("shape-ints", Ct);
        Assert.Equal("reports.build", ints!.Name);
        Assert.Equal("worker-1@host", ints.Worker);
        Assert.Equal("reports", ints.Queue);
        Assert.Equal(2, ints.Retries);
        PickleReaderTests.AssertSameJson("[2, \"x\"]", Encoding.UTF8.GetString(ints.Args!.Data), "args");
        PickleReaderTests.AssertSameJson("{\"k\": 2}", Encoding.UTF8.GetString(ints.Kwargs!.Data), "kwargs");

        var started = await target.ReadAsync("started-1", Ct);
        Assert.Equal(TaskStates.Started, started!.State);
        Assert.Null(started.ExpiresAt);

        var jsonFailure = await target.ReadAsync("failure-json", Ct);
        Assert.Equal(TaskStates.Failure, jsonFailure!.State);
        PickleReaderTests.AssertSameJson("""{"exc_type": "KeyError", "exc_message": ["missing-key"], "exc_module": "builtins"}""", Encoding.UTF8.GetString(jsonFailure.Payload!.Data), "failure-json");
        Assert.Contains("KeyError: 'missing-key'", jsonFailure.Traceback, StringComparison.Ordinal);

        // result_serializer='pickle': the exception instance itself was pickled, args and kwargs too.
        var pickledFailure = await target.ReadAsync("failure-pickle", Ct);
        Assert.Equal(TaskStates.Failure, pickledFailure!.State);
        PickleReaderTests.AssertSameJson("""{"exc_type": "ValueError", "exc_message": ["boom", 42], "exc_module": "builtins"}""", Encoding.UTF8.GetString(pickledFailure.Payload!.Data), "failure-pickle");
        PickleReaderTests.AssertSameJson("[8, \"x\"]", Encoding.UTF8.GetString(pickledFailure.Args!.Data), "pickled args");
        var custom = await target.ReadAsync("failure-custom", Ct);
        PickleReaderTests.AssertSameJson("""{"exc_type": "QuotaExceeded", "exc_message": ["over quota"], "exc_module": "__main__"}""", Encoding.UTF8.GetString(custom!.Payload!.Data), "failure-custom");
        PickleReaderTests.AssertSameJson("""{"a": [1, 2]}""", Encoding.UTF8.GetString((await target.ReadAsync("pickle-success", Ct))!.Payload!.Data), "pickle-success");

        Assert.Null(await target.ReadAsync("expired-1", Ct));
        Assert.Null(await target.ReadAsync("evil-1", Ct));

        var group = await target.ReadGroupAsync("group-1", Ct);
        Assert.NotNull(group);
        Assert.Equal(written.GetProperty("group").GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToArray(), group.TaskIds);

        // The refused row is still in Celery's table, read there as a damaged record naming the global.
        await using var opened = OperatorStore.Create("test", source, new ConfigurationBuilder().Build(), allowAdmin: false, readOnly: true, out var openProblem);
        Assert.True(opened is not null, openProblem);
        await opened.Store.InitializeAsync(Ct);
        var evil = await opened.Store.ReadAsync("evil-1", Ct);
        Assert.Equal(TaskStates.Unreadable, evil!.EffectiveState);
        Assert.Contains("builtins.exec", evil.Problem!.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await opened.Store.ForgetAsync("evil-1", Ct));

        // resultgrid inspect reads Celery's rows too: a copied one whole, the refused one as damaged (exit 1).
        await using (var inspect = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: ["inspect", source, "failure-pickle", "--json"]))
        {
            Assert.True(await inspect.Exit(TimeSpan.FromMinutes(1)) == 0, inspect.Error);
            Assert.Contains("ValueError", inspect.Output, StringComparison.Ordinal);
        }

        await using (var inspect = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: ["inspect", source, "evil-1", "--json"]))
        {
            Assert.Equal(1, await inspect.Exit(TimeSpan.FromMinutes(1)));
            Assert.Contains("builtins.exec", inspect.Output, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(marker));
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_celery_url_is_refused_as_a_migration_target_and_as_a_silo_backend()
    {
        var celery = "celery+" + HttpTests.NewSqliteUrl(out _);
        var (exit, _, error) = await MigrateAsync("--from", HttpTests.NewSqliteUrl(out _), "--to", celery);
        Assert.Equal(2, exit);
        Assert.Contains("celery+db+ URLs are read-only: a migration source", error, StringComparison.Ordinal);

        // A silo's stores come from AddSqlResultStore alone.
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build()).AddSqlResultStore().AddSingleton<ResultStoreProviderRegistry>().BuildServiceProvider();
        var problem = services.GetRequiredService<ResultStoreProviderRegistry>().Validate(celery);
        Assert.NotNull(problem);
        Assert.Contains("read-only", problem, StringComparison.Ordinal);
        Assert.Contains("resultgrid migrate --from", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("celery+db+sqlite:///x.db?result_expires=-5", "result_expires=-5 must be a number of seconds from 0")]
    [InlineData("celery+db+sqlite:///x.db?result_expires=soon", "result_expires=soon is not a number of seconds")]
    [InlineData("celery+db+sqlite:///x.db?writers=4", "the parameter 'writers', which only a store written to takes")]
    [InlineData("celery+db+sqlite:///x.db?task_table=no-such", "task_table 'no-such' is not a usable table name")]
    [InlineData("celery+db+sqlite:///x.db?colour=red", "unknown parameter 'colour'")]
    public void Bad_celery_urls_are_refused_saying_what_is_allowed(string url, string message)
    {
        var ex = Assert.Throws<FormatException>(() => CeleryDbSettings.Parse(BackendUrl.Parse(url), new SqlResultStoreOptions()));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Celery_52_table_names_and_a_day_of_result_expires_are_the_defaults()
    {
        var settings = CeleryDbSettings.Parse(BackendUrl.Parse("celery+db+sqlite:///x.db?result_expires=60&task_table=tm&group_table=gm"), new SqlResultStoreOptions());
        Assert.Equal(TimeSpan.FromMinutes(1), settings.ResultExpires);
        Assert.Equal(("tm", "gm"), (settings.TaskTableName, settings.GroupTableName));
        var defaults = CeleryDbSettings.Parse(BackendUrl.Parse("celery+db+postgresql://u:p@h/db"), new SqlResultStoreOptions());
        Assert.Equal(("celery_taskmeta", "celery_tasksetmeta", TimeSpan.FromDays(1)), (defaults.TaskTableName, defaults.GroupTableName, defaults.ResultExpires));
    }
}
