using System.Net;
using System.Numerics;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// Python's JSON as Celery writes it, both ways, with Debian's Celery 5 on the same redis-server:
/// bare NaN/Infinity/-Infinity and integers beyond 64 bits, as results and as PROGRESS meta; a
/// Redis document whose value cannot be decoded keeps the rest of the record readable; and the
/// HTTP API and the dashboard serve such a value.
/// </summary>
[Trait("Backend", "redis")]
public sealed class CeleryJsonInteropTests(RedisCluster cluster) : IAsyncLifetime
{
    // Debian's interpreter: python3-celery installs into its dist-packages, not into any other python3 on PATH.
    private const string Python = "/usr/bin/python3";

    private static readonly BigInteger TwoTo100 = BigInteger.Pow(2, 100);

    private ConnectionMultiplexer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"pyjson-{Guid.NewGuid():N}";

    public async ValueTask InitializeAsync() =>
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private async Task<JsonElement> Celery(string command, string id, string kind)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "celery_json.py");
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, [script, await cluster.Server.UrlAsync(), command, id, kind]);
        Assert.True(exit == 0, $"celery_json.py {command} {id} {kind} exited {exit}:\n{error}\n(install python3-celery and python3-redis: ./scripts/test.sh does)");
        // allow_nan output: this test's own reader takes the literals as Python wrote them.
        return JsonDocument.Parse(PythonJsonLiterals.Quote(Encoding.UTF8.GetBytes(output)) ?? Encoding.UTF8.GetBytes(output)).RootElement.Clone();
    }

    /// <summary>Celery's verdict on what .NET stored: its state, its repr, and whether it equals the shape exactly (types included).</summary>
    private async Task AssertCeleryReadsAsync(string id, string kind, string state, string repr)
    {
        var check = await Celery("check", id, kind);
        Assert.Equal(state, check.GetProperty("state").GetString());
        Assert.Equal(repr, check.GetProperty("repr").GetString());
        Assert.True(check.GetProperty("equal").GetBoolean(), $"Celery read {repr}, not the {kind} shape");
    }

    // ---- Celery writes, .NET reads ----

    [Fact]
    public async Task Dotnet_reads_celerys_nan_and_infinities_as_doubles_with_state_and_date()
    {
        var id = NewId();
        await Celery("store", id, "floats");

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TaskStates.Success, info.State);
        Assert.Null(info.Problem);
        Assert.NotNull(info.DateDone);
        Assert.Contains("NaN, 1.5, Infinity, -Infinity", Encoding.UTF8.GetString(info.Payload!.Data), StringComparison.Ordinal);

        var doubles = info.GetValue<double[]>()!;
        Assert.True(double.IsNaN(doubles[0]));
        Assert.Equal([1.5, double.PositiveInfinity, double.NegativeInfinity], doubles[1..]);
        var list = info.GetValue<List<float>>()!;
        Assert.True(float.IsNaN(list[0]) && float.IsPositiveInfinity(list[2]));
        var element = info.GetValue<JsonElement>();
        Assert.Equal(["NaN", "1.5", "Infinity", "-Infinity"], element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()));

        var outcome = await cluster.External.WaitAsync<double[]>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.True(double.IsNaN(outcome.Value![0]));
    }

    [Fact]
    public async Task Dotnet_reads_celerys_big_integers_exactly()
    {
        var id = NewId();
        await Celery("store", id, "bigint");
        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TwoTo100, info.GetValue<BigInteger>());
        Assert.Equal("1267650600228229401496703205376", ((JsonElement)info.GetValue<object>()!).GetRawText());
        var ex = Assert.Throws<Serialization.ResultDecodeException>(() => info.GetValue<long>());
        Assert.Equal((id, "result"), (ex.TaskId, ex.Field));

        var dict = NewId();
        await Celery("store", dict, "bigdict");
        var big = await cluster.External.GetAsync(dict, Ct);
        Assert.Equal(-BigInteger.Pow(2, 90), big.GetValue<Dictionary<string, BigInteger>>()!["big"]);
        Assert.Equal("-1237940039285380274899124224", big.GetValue<Dictionary<string, JsonElement>>()!["big"].GetRawText());
        Assert.NotNull(big.DateDone);

        var huge = NewId();
        await Celery("store", huge, "int128");
        var values = (await cluster.External.GetAsync(huge, Ct)).GetValue<Dictionary<string, BigInteger>>()!;
        Assert.Equal((BigInteger)Int128.MaxValue, values["max"]);
        Assert.Equal((BigInteger)UInt128.MaxValue, values["umax"]);
        // Int128 holds max and min; UInt128's maximum is beyond it, and that is an error, not a wrapped value.
        var hugeInfo = await cluster.External.GetAsync(huge, Ct);
        Assert.Equal(Int128.MinValue, (Int128)hugeInfo.GetValue<Dictionary<string, BigInteger>>()!["min"]);
        var over = Assert.Throws<Serialization.ResultDecodeException>(() => hugeInfo.GetValue<Dictionary<string, Int128>>());
        Assert.Contains("umax", over.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dotnet_reads_celerys_progress_meta_holding_nan()
    {
        var id = NewId();
        await Celery("store", id, "progress-nan");

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal("PROGRESS", info.State);
        Assert.Null(info.Problem);
        var meta = info.GetMeta<Dictionary<string, double>>()!;
        Assert.True(double.IsNaN(meta["ratio"]));
        Assert.Equal(3, meta["done"]);
        var ex = Assert.Throws<Serialization.ResultDecodeException>(() => info.GetMeta<Dictionary<string, int>>());
        Assert.Equal((id, "meta"), (ex.TaskId, ex.Field));
    }

    // ---- .NET writes, Celery reads ----

    [Fact]
    public async Task Celery_reads_dotnets_nan_and_infinities()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, new[] { double.NaN, 1.5, double.PositiveInfinity, double.NegativeInfinity }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(id, "floats", "SUCCESS", "[nan, 1.5, inf, -inf]");

        var floats = NewId();
        await cluster.External.MarkSucceededAsync(floats, new List<float> { float.NaN, 1.5f, float.PositiveInfinity, float.NegativeInfinity }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(floats, "floats", "SUCCESS", "[nan, 1.5, inf, -inf]");

        var nested = NewId();
        await cluster.External.MarkSucceededAsync(nested, new Dictionary<string, object>
        {
            ["a"] = new object[] { double.NaN, new Dictionary<string, double> { ["b"] = double.PositiveInfinity } },
            ["c"] = double.NegativeInfinity,
            ["n"] = BigInteger.Pow(10, 30),
            ["s"] = "NaN",
        }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(nested, "nested", "SUCCESS", "{'a': [nan, {'b': inf}], 'c': -inf, 'n': 1000000000000000000000000000000, 's': 'NaN'}");
    }

    [Fact]
    public async Task Celery_reads_dotnets_big_integers_as_python_ints()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, TwoTo100, cancellationToken: Ct);
        await AssertCeleryReadsAsync(id, "bigint", "SUCCESS", "1267650600228229401496703205376");

        var negative = NewId();
        await cluster.External.MarkSucceededAsync(negative, -TwoTo100, cancellationToken: Ct);
        await AssertCeleryReadsAsync(negative, "bigneg", "SUCCESS", "-1267650600228229401496703205376");

        var dict = NewId();
        await cluster.External.MarkSucceededAsync(dict, new Dictionary<string, BigInteger> { ["big"] = -BigInteger.Pow(2, 90) }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(dict, "bigdict", "SUCCESS", "{'big': -1237940039285380274899124224}");

        var int128 = NewId();
        await cluster.External.MarkSucceededAsync(int128, new Dictionary<string, object> { ["max"] = Int128.MaxValue, ["min"] = Int128.MinValue, ["umax"] = UInt128.MaxValue }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(int128, "int128", "SUCCESS",
            "{'max': 170141183460469231731687303715884105727, 'min': -170141183460469231731687303715884105728, 'umax': 340282366920938463463374607431768211455}");
    }

    [Fact]
    public async Task Celery_reads_dotnets_progress_meta_holding_nan()
    {
        var id = NewId();
        await cluster.External.UpdateStateAsync(id, "PROGRESS", new Dictionary<string, object> { ["ratio"] = double.NaN, ["done"] = 3 }, cancellationToken: Ct);
        await AssertCeleryReadsAsync(id, "progress-nan", "PROGRESS", "{'ratio': nan, 'done': 3}");
    }

    [Fact]
    public async Task A_value_the_codec_cannot_represent_is_refused_and_nothing_is_stored()
    {
        var id = NewId();
        var ex = await Assert.ThrowsAsync<Serialization.ResultEncodeException>(() => cluster.External.MarkSucceededAsync(id, new Complex(1, 2), cancellationToken: Ct));
        Assert.StartsWith($"The result of task '{id}' (type System.Numerics.Complex)", ex.Message, StringComparison.Ordinal);
        var meta = await Assert.ThrowsAsync<Serialization.ResultEncodeException>(() => cluster.External.UpdateStateAsync(id, "PROGRESS", new { s = new MemoryStream() }, cancellationToken: Ct));
        Assert.Equal((id, "meta"), (meta.TaskId, meta.Field));
        Assert.Contains("System.IO.MemoryStream", meta.Message, StringComparison.Ordinal);

        Assert.False(await _redis.GetDatabase().KeyExistsAsync($"celery-task-meta-{id}"));
        Assert.Equal(TaskStates.Pending, (await cluster.External.GetAsync(id, Ct)).State);
    }

    // ---- a document whose value cannot be decoded ----

    [Fact]
    public async Task A_document_whose_value_cannot_be_decoded_keeps_state_date_and_traceback_readable()
    {
        var id = NewId();
        var document = $$"""
            {"status": "SUCCESS", "result": {"x": NaN, "y": [1, Infinity]}, "traceback": "Traceback (most recent call last):\n  NaN here is text", "children": [],
             "date_done": "2026-11-24T10:16:23.442966", "task_id": "{{id}}", "name": "tasks.ratio", "args": [NaN, -Infinity], "kwargs": {"k": NaN}, "worker": "celery@py", "retries": 0, "queue": "celery"}
            """;
        await _redis.GetDatabase().StringSetAsync($"celery-task-meta-{id}", document, TimeSpan.FromMinutes(10));

        var info = await cluster.External.GetAsync(id, Ct);
        Assert.Equal(TaskStates.Success, info.State);
        Assert.Null(info.Problem);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 16, 23, 442, TimeSpan.Zero).AddTicks(9660), info.DateDone);
        Assert.Equal("Traceback (most recent call last):\n  NaN here is text", info.Traceback);
        Assert.Equal(("tasks.ratio", "celery@py", "celery"), (info.Name, info.Worker, info.Queue));
        Assert.Equal("[NaN, -Infinity]", Encoding.UTF8.GetString(info.Record.Args!.Data));
        Assert.Equal("""{"x": NaN, "y": [1, Infinity]}""", Encoding.UTF8.GetString(info.Payload!.Data));

        // The value is the value's error alone, naming the task and the field.
        var ex = Assert.Throws<Serialization.ResultDecodeException>(() => info.GetValue<Dictionary<string, int[]>>());
        Assert.Equal((id, "result"), (ex.TaskId, ex.Field));
        Assert.Contains($"The result of task '{id}'", ex.Message, StringComparison.Ordinal);
        var value = info.GetValue<Dictionary<string, JsonElement>>()!;
        Assert.Equal("NaN", value["x"].GetString());

        // A document that is broken beyond the literals is still the whole record's problem.
        var broken = NewId();
        await _redis.GetDatabase().StringSetAsync($"celery-task-meta-{broken}", """{"status": "SUCCESS", "result": [NaN, """, TimeSpan.FromMinutes(10));
        Assert.Equal(TaskStates.Unreadable, (await cluster.External.GetAsync(broken, Ct)).Record.EffectiveState);
    }

    [Fact]
    public async Task A_join_over_celerys_children_decodes_nan_and_big_integers()
    {
        var gid = NewId();
        var floats = $"{gid}-floats";
        var progress = $"{gid}-nested";
        await Celery("store", floats, "floats");
        await Celery("store", progress, "nested");
        await cluster.Store().SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = [floats, progress], DateDone = DateTimeOffset.UtcNow }, Ct);

        var joined = await cluster.External.JoinAsync<JsonElement>(gid, TimeSpan.FromSeconds(10), cancellationToken: Ct);

        Assert.Equal([TaskStates.Success, TaskStates.Success], joined.Select(o => o.State));
        Assert.Equal("""["NaN",1.5,"Infinity","-Infinity"]""", JsonSerializer.Serialize(joined[0].Value));
        Assert.Equal("1000000000000000000000000000000", joined[1].Value.GetProperty("n").GetRawText());
    }

    // ---- the HTTP API and the dashboard ----

    [Fact]
    public async Task The_http_api_and_dashboard_serve_celerys_nan_and_big_integers()
    {
        var floats = NewId();
        await Celery("store", floats, "nested");
        var progress = NewId();
        await Celery("store", progress, "progress-nan");
        await using var silo = await HttpSilo.StartAsync(await cluster.Server.UrlAsync(), dashboard: true, cancellationToken: Ct);

        // Strict JSON for every HTTP client: the literals as their names, the big integer exact.
        using var response = await silo.Http.GetAsync(silo.Api($"results/{floats}"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var view = JsonDocument.Parse(text);
        Assert.False(view.RootElement.TryGetProperty("problem", out var problem) && problem.ValueKind != JsonValueKind.Null, text);
        Assert.Equal("""{"a": ["NaN", {"b": "Infinity"}], "c": "-Infinity", "n": 1000000000000000000000000000000, "s": "NaN"}""", view.RootElement.GetProperty("value").GetRawText());

        using var meta = await silo.Http.GetAsync(silo.Api($"results/{progress}"), Ct);
        using var metaView = JsonDocument.Parse(await meta.Content.ReadAsStringAsync(Ct));
        Assert.Equal("PROGRESS", metaView.RootElement.GetProperty("state").GetString());
        Assert.Equal("""{"ratio": "NaN", "done": 3}""", metaView.RootElement.GetProperty("meta").GetRawText());

        // The raw bytes stay as Celery stored them.
        using var raw = await silo.Http.GetAsync(silo.Api($"results/{floats}?raw=true"), Ct);
        Assert.Contains("[NaN, {\"b\": Infinity}]", await raw.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // The dashboard draws the tree, the literals as the numbers they name.
        using var page = await silo.Http.GetAsync($"results/{floats}", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<span class=\"json-number\">NaN</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"json-number\">-Infinity</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"json-number\">1000000000000000000000000000000</span>", html, StringComparison.Ordinal);
    }

    // ---- the CLI ----

    [Fact]
    public async Task The_clis_inspect_shows_celerys_nan_value_with_its_state()
    {
        var id = NewId();
        await Celery("store", id, "floats");

        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(),
            arguments: ["inspect", await cluster.Server.UrlAsync(), id, "--json"]);
        var exit = await cli.Exit(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, cli.Output + cli.Error);
        using var shown = JsonDocument.Parse(cli.Output);
        Assert.Equal("SUCCESS", shown.RootElement.GetProperty("state").GetString());
        Assert.Equal("[NaN, 1.5, Infinity, -Infinity]", shown.RootElement.GetProperty("payload").GetString());
    }
}
