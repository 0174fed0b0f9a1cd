using System.Text.Json;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// <c>resultgrid inspect</c> and <c>query</c>, run as the real program, on records damaged the
/// way the corpus damages them: exit 1 ("the record is damaged"), the bad field named, the stored
/// value shown raw, and never a stack trace.
/// </summary>
public sealed class CorruptRecordCliTests(PostgresCluster postgres, MariaDbCluster maria, SqliteCluster sqlite, RedisCluster redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Backend, corruption, what of the raw value the text form shows; each row carries its backend as a trait.</summary>
    public static TheoryData<string, string, string> Cases => new(new (string Backend, string Corruption, string Raw)[]
    {
        ("sqlite", "children-not-json", "not json"),
        ("sqlite", "payload-a-python-str", "{\"total\": 42}"),
        ("sqlite", "date-done-not-a-date", "banana"),
        ("postgresql", "state-empty", "state"),
        ("postgresql", "children-an-object", "{\"a\": 1}"),
        ("mariadb", "date-done-zero-date", "date_done"),
        ("redis", "key-a-list", "list"),
        ("redis", "value-not-json", "not json at all"),
        ("redis", "retries-a-string", "string"),
    }.Select(c => new TheoryDataRow<string, string, string>(c.Backend, c.Corruption, c.Raw).WithTrait("Backend", c.Backend)));

    private ResultCluster Cluster(string backend) => backend switch
    {
        "postgresql" => postgres,
        "mariadb" => maria,
        "sqlite" => sqlite,
        _ => redis,
    };

    private async Task<string> UrlAsync(string backend) => backend switch
    {
        "postgresql" => postgres.Server.Url,
        "mariadb" => maria.Server.Url,
        "sqlite" => sqlite.Url,
        _ => await redis.Server.UrlAsync(),
    };

    private async Task<string> DamagedAsync(string backend, Corruption corruption, string? name = null)
    {
        // Short ids and names: the text table of query wraps cells at the 80 columns of a pipe.
        var id = $"bad-{Guid.NewGuid():N}"[..16];
        await Cluster(backend).External.MarkSucceededAsync(id, new { total = 42 }, new ResultGrid.Client.ResultWriteOptions { Name = name ?? "cli.corpus", Worker = "w-cli@host", Children = ["c1"] }, Ct);
        if (backend == "redis")
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Server.Port}");
            await Damage.RedisAsync(connection.GetDatabase(0), corruption, id);
        }
        else
        {
            await Damage.SqlAsync(Cluster(backend), corruption, id);
        }

        return id;
    }

    private static async Task<(int Exit, string Output, string Error)> CliAsync(params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: arguments);
        var exit = await cli.Exit(TimeSpan.FromSeconds(60));
        return (exit, cli.Output, cli.Error);
    }

    private static void AssertNoStackTrace(string output, string error)
    {
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output + error, StringComparison.Ordinal);
    }

    /// <summary>The text form: what could be read, the bad field and why, and the stored value raw.</summary>
    [Theory, MemberData(nameof(Cases))]
    public async Task Inspect_shows_a_damaged_record_raw_with_what_is_wrong(string backend, string corruptionName, string rawExcerpt)
    {
        var corruption = CorruptRecordCorpus.Find(backend, corruptionName);
        var id = await DamagedAsync(backend, corruption);

        var (exit, output, error) = await CliAsync("inspect", await UrlAsync(backend), id);

        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        AssertNoStackTrace(output, error);
        Assert.Contains("damaged", output, StringComparison.Ordinal);
        Assert.Contains($"field {corruption.Field} cannot be read", output, StringComparison.Ordinal);
        Assert.Contains("stored as is", output, StringComparison.Ordinal);
        Assert.Contains(rawExcerpt, output, StringComparison.Ordinal);
        if (!corruption.WholeRecord)
        {
            // What could be read is still shown.
            Assert.Contains("w-cli@host", output, StringComparison.Ordinal);
        }
    }

    /// <summary>The JSON form, for scripts: the problem and the raw fields as members.</summary>
    [Theory]
    [InlineData("sqlite", "retries-not-a-number", "retries", Traits = new[] { "Backend", "sqlite" })]
    [InlineData("redis", "key-a-hash", "type", Traits = new[] { "Backend", "redis" })]
    public async Task Inspect_json_names_the_problem_and_carries_the_raw_fields(string backend, string corruptionName, string rawField)
    {
        var corruption = CorruptRecordCorpus.Find(backend, corruptionName);
        var id = await DamagedAsync(backend, corruption);

        var (exit, output, error) = await CliAsync("inspect", await UrlAsync(backend), id, "--json");

        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        AssertNoStackTrace(output, error);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(corruption.State, root.GetProperty("state").GetString());
        Assert.Equal(corruption.Field, root.GetProperty("problem").GetProperty("field").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("problem").GetProperty("reason").GetString()));
        Assert.True(root.GetProperty("raw").GetProperty("fields").TryGetProperty(rawField, out _), output);
    }

    /// <summary>A search lists the good rows and the damaged one (id, field, reason), exit 1, no stack trace.</summary>
    [Theory]
    [InlineData("sqlite", "children-not-json", Traits = new[] { "Backend", "sqlite" })]
    [InlineData("postgresql", "state-blank", Traits = new[] { "Backend", "postgresql" })]
    [InlineData("mariadb", "date-done-zero-date", Traits = new[] { "Backend", "mariadb" })]
    public async Task Query_lists_good_rows_and_the_damaged_ones(string backend, string corruptionName)
    {
        var corruption = CorruptRecordCorpus.Find(backend, corruptionName);
        var name = $"cq.{Guid.NewGuid():N}"[..15];
        var good = $"good-{Guid.NewGuid():N}"[..16];
        await Cluster(backend).External.MarkSucceededAsync(good, 1, new ResultGrid.Client.ResultWriteOptions { Name = name }, Ct);
        var bad = await DamagedAsync(backend, corruption, name);
        var url = await UrlAsync(backend);

        var (exit, output, error) = await CliAsync("query", url, "--name", name);
        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        AssertNoStackTrace(output, error);
        Assert.Contains(good, output, StringComparison.Ordinal);
        Assert.Contains("1 matching record(s) cannot be read", output, StringComparison.Ordinal);
        Assert.Contains($"{bad}: field {corruption.Field}", output, StringComparison.Ordinal);

        (exit, output, error) = await CliAsync("query", url, "--name", name, "--json");
        Assert.True(exit == 1, $"exit {exit}: {output}{error}");
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("task_id").GetString()!, r => r.Clone());
        Assert.Equal(JsonValueKind.Null, rows[good].GetProperty("problem").ValueKind);
        Assert.Equal(corruption.Field, rows[bad].GetProperty("problem").GetProperty("field").GetString());
    }
}
