using System.Text.Json;

namespace ResultGrid.Tests;

/// <summary>`resultgrid check`, run as the real program against real servers.</summary>
public sealed class CliCheckTests(RedisCluster redis, PostgresCluster postgres, MariaDbCluster maria, SqliteCluster sqlite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<(int Exit, string Output, string Error)> CheckAsync(params string[] arguments) => CliAsync(["check", .. arguments]);

    private static async Task<(int Exit, string Output, string Error)> CliAsync(params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: arguments);
        var exit = await cli.Exit(TimeSpan.FromSeconds(60));
        return (exit, cli.Output, cli.Error);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Sweep_deletes_expired_rows_now_and_says_so()
    {
        // A database file of its own: a sweep of the shared one would race other tests' expiry checks.
        var url = $"db+sqlite:///{Path.Combine(Directory.CreateTempSubdirectory("rg-cli-sweep-").FullName, "sweep.db")}";
        await using var store = new ResultGrid.Storage.Sql.SqlResultStore(
            ResultGrid.Storage.Sql.SqlStoreSettings.Create(ResultGrid.Storage.BackendUrl.Parse(url), new ResultGrid.Storage.Sql.SqlResultStoreOptions()),
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await store.InitializeAsync(Ct);
        var ids = Enumerable.Range(0, 5).Select(_ => TaskIds.NewId()).ToArray();
        foreach (var id in ids)
        {
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, ExpiresAt = DateTimeOffset.UtcNow.AddMilliseconds(200) }, Ct);
        }

        await Task.Delay(500, Ct);
        Assert.Equal(ResultExistence.Expired, await store.GetExistenceAsync(ids[0], Ct));

        var (exit, output, error) = await CliAsync("sweep", url, "--json");

        Assert.True(exit == 0, output + error);
        using (var report = JsonDocument.Parse(output))
        {
            Assert.Equal(5, report.RootElement.GetProperty("deleted").GetInt64());
        }

        foreach (var id in ids)
        {
            Assert.Equal(ResultExistence.Pending, await store.GetExistenceAsync(id, Ct));
        }

        (exit, output, _) = await CliAsync("sweep", await redis.Server.UrlAsync());
        Assert.Equal(0, exit);
        Assert.Contains("nothing to sweep", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Inspect_query_and_forget_work_on_what_the_cluster_wrote()
    {
        var client = sqlite.External;
        var name = $"cli.{Guid.NewGuid():N}";
        var ok = TaskIds.NewId();
        var failed = TaskIds.NewId();
        await client.MarkSucceededAsync(ok, new { Total = 42 }, new ResultGrid.Client.ResultWriteOptions { Name = name, Worker = "w1@host" }, Ct);
        await client.MarkFailedAsync(failed, new InvalidOperationException("no data"), new ResultGrid.Client.ResultWriteOptions { Name = name }, Ct);

        var (exit, output, error) = await CliAsync("query", sqlite.Url, "--name", name, "--state", "FAILURE", "--json");
        Assert.True(exit == 0, output + error);
        using (var found = JsonDocument.Parse(output))
        {
            Assert.Equal([failed], found.RootElement.EnumerateArray().Select(r => r.GetProperty("task_id").GetString()));
        }

        (exit, output, error) = await CliAsync("inspect", sqlite.Url, ok, "--json");
        Assert.True(exit == 0, output + error);
        using (var shown = JsonDocument.Parse(output))
        {
            Assert.Equal("SUCCESS", shown.RootElement.GetProperty("state").GetString());
            Assert.Equal("w1@host", shown.RootElement.GetProperty("worker").GetString());
            Assert.Contains("42", shown.RootElement.GetProperty("payload").GetString(), StringComparison.Ordinal);
        }

        (exit, output, _) = await CliAsync("forget", sqlite.Url, ok);
        Assert.Equal(0, exit);
        Assert.Contains("forgotten", output, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Pending, await client.GetStateAsync(ok, Ct));

        (exit, _, error) = await CliAsync("query", await redis.Server.UrlAsync());
        Assert.Equal(2, exit);
        Assert.Contains("needs a SQL backend", error, StringComparison.Ordinal);
    }

    private static Dictionary<string, (string Outcome, string Detail)> Checks(string output)
    {
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => (c.GetProperty("outcome").GetString()!, c.GetProperty("detail").GetString()!));
    }

    private static readonly string[] Exercised = ["connect", "write and read back", "never overwrite SUCCESS", "expiry honoured", "round-trip latency", "forget"];

    [Fact]
    [Trait("Backend", "redis")]
    public async Task Redis_passes_every_check_and_is_warned_about_missing_persistence()
    {
        var (exit, output, error) = await CheckAsync(await redis.Server.UrlAsync(), "--json");

        Assert.True(exit == 0, $"exit {exit}: {output}{error}");
        var checks = Checks(output);
        Assert.All(Exercised.Append("waiter woken"), name => Assert.Equal("pass", checks[name].Outcome));
        // The test server runs with neither RDB nor AOF.
        Assert.Equal("warn", checks["persistence"].Outcome);
        Assert.Contains("appendonly", checks["persistence"].Detail, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "redis")]
    public async Task A_redis_that_may_evict_results_is_warned_about()
    {
        await using var server = new RedisProcess("--appendonly", "yes", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru");
        await server.StartAsync();

        var (exit, output, _) = await CheckAsync($"redis://127.0.0.1:{server.Port}/0", "--json");

        Assert.Equal(0, exit);
        var checks = Checks(output);
        Assert.Equal("pass", checks["persistence"].Outcome);
        Assert.Equal("warn", checks["maxmemory-policy"].Outcome);
        Assert.Contains("noeviction", checks["maxmemory-policy"].Detail, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    [Trait("Backend", "mariadb")]
    [Trait("Backend", "sqlite")]
    public async Task PostgreSQL_MariaDB_and_SQLite_pass_and_report_their_tables()
    {
        var sqlite = Path.Combine(Directory.CreateTempSubdirectory("rg-cli-").FullName, "check.db");
        foreach (var url in new[] { postgres.Server.Url, maria.Server.Url, $"db+sqlite:///{sqlite}" })
        {
            var (exit, output, error) = await CheckAsync(url, "--json");

            Assert.True(exit == 0, $"{url}: exit {exit}: {output}{error}");
            var checks = Checks(output);
            Assert.All(Exercised, name => Assert.Equal("pass", checks[name].Outcome));
            Assert.Equal("skip", checks["waiter woken"].Outcome);
            Assert.True(checks.TryGetValue("table resultgrid_tasks", out var table) && table.Detail == "present", $"{url}: {output}");
            Assert.Equal("1", checks["schema version"].Detail);
            Assert.Equal(("pass", "all 3 present"), checks["cleanup indexes"]);
            Assert.DoesNotContain(SqlServerProcess.Password, output, StringComparison.Ordinal);
        }

        Assert.Contains("server default isolation", Checks((await CheckAsync(maria.Server.Url, "--json")).Output).Keys);
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_connect_line_with_exit_1_and_no_stack_trace()
    {
        var port = FreePort.Get();
        var (exit, output, error) = await CheckAsync($"db+postgresql://rg:s3cret-pw@127.0.0.1:{port}/reports");

        Assert.Equal(1, exit);
        Assert.Contains("connect", output, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", output + error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis//missing-colon", "has no scheme")]
    [InlineData("memory://", "lives inside a running cluster")]
    [InlineData("db+postgresql://host", "needs one database name")]
    public async Task A_bad_url_is_one_line_and_exit_2(string url, string expected)
    {
        var (exit, output, error) = await CheckAsync(url);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(output.Trim());
    }
}
