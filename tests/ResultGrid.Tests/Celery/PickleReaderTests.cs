using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ResultGrid.Storage.Sql.Celery;

namespace ResultGrid.Tests;

/// <summary>
/// The pickle reader against pickles Debian's Python 3.11 writes at protocols 0 to 5 (made by
/// Celery/celery_db.py in the test, never checked in), against each opcode that would import or
/// call, and against crafted and broken input.
/// </summary>
public sealed class PickleReaderTests
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<Task<JsonElement>> Generated = new(async () =>
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Celery", "celery_db.py");
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, [script, "pickles"]);
        Assert.True(exit == 0, $"celery_db.py pickles exited {exit}:\n{error}");
        return JsonDocument.Parse(output).RootElement.Clone();
    });

    private static async Task<byte[]> RefusedPickleAsync(string name) =>
        Convert.FromBase64String((await Generated.Value).GetProperty("refused").GetProperty(name).GetString()!);

    private static string Json(byte[] pickle) => Encoding.UTF8.GetString(CeleryPickle.ToJson(PickleReader.Read(pickle), "result"));

    /// <summary>The JSON text Python wrote and the reader's, equal as JSON (bare NaN/Infinity, which no JSON parser takes, compared as text).</summary>
    internal static void AssertSameJson(string expected, string actual, string what)
    {
        if (expected.Contains("NaN", StringComparison.Ordinal) || expected.Contains("Infinity", StringComparison.Ordinal))
        {
            Assert.Equal(expected.Replace(" ", string.Empty, StringComparison.Ordinal), actual);
            return;
        }

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"{what}: expected {Clip(expected)}, read {Clip(actual)}");
    }

    private static string Clip(string text) => text.Length > 400 ? text[..400] + "…" : text;

    [Fact]
    public async Task Every_plain_shape_reads_as_Celery_json_at_protocols_0_to_5()
    {
        var shapes = (await Generated.Value).GetProperty("shapes");
        var checkedCount = 0;
        foreach (var shape in shapes.EnumerateObject())
        {
            var expected = shape.Value.GetProperty("expected").GetString()!;
            foreach (var protocol in shape.Value.GetProperty("pickles").EnumerateObject())
            {
                var actual = Json(Convert.FromBase64String(protocol.Value.GetString()!));
                AssertSameJson(expected, actual, $"{shape.Name} at protocol {protocol.Name}");
                checkedCount++;
            }
        }

        Assert.Equal(shapes.EnumerateObject().Count() * 6, checkedCount);
        Assert.True(checkedCount >= 90);
    }

    [Fact]
    public async Task Integers_beyond_64_bits_are_exact_JSON_numbers()
    {
        var ints = (await Generated.Value).GetProperty("shapes").GetProperty("ints").GetProperty("pickles");
        foreach (var protocol in ints.EnumerateObject())
        {
            var json = Json(Convert.FromBase64String(protocol.Value.GetString()!));
            Assert.Contains(",18446744073709551617,-1267650600228229401496703205376,10000000000000000000000000000000000000000]", json, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("instance", "a pickled instance of __main__.Thing")]
    [InlineData("instance_p0", "__main__.Thing")]
    [InlineData("exec", "a pickled call of builtins.exec")]
    public async Task A_pickled_object_is_refused_naming_its_global(string name, string named)
    {
        var pickle = await RefusedPickleAsync(name);
        var ex = Assert.Throws<PickleException>(() => Json(pickle));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Contains("only plain data", ex.Message, StringComparison.Ordinal);
    }

    // Each opcode that builds an object by running code, hand-made after a PROTO 4 header.
    [Theory]
    [InlineData("i", "(imod\nThing\n.", "INST of mod.Thing")]
    [InlineData("o", "(cmod\nThing\no.", "OBJ")]
    [InlineData("\u0092", "cmod\nThing\n)}\u0092.", "NEWOBJ_EX")]
    [InlineData("\u0082", "\u0082\u0001.", "EXT1")]
    [InlineData("\u0083", "\u0083\u0001\u0000.", "EXT2")]
    [InlineData("\u0084", "\u0084\u0001\u0000\u0000\u0000.", "EXT4")]
    [InlineData("P", "Pid\n.", "PERSID")]
    [InlineData("Q", "U\u0002idQ.", "BINPERSID")]
    public void Each_opcode_that_imports_or_calls_is_refused(string opcode, string body, string named)
    {
        Assert.NotEmpty(opcode);
        var pickle = Encoding.Latin1.GetBytes("\u0080\u0004" + body);
        var ex = Assert.Throws<PickleException>(() => Json(pickle));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cos\nsystem\nU\u0002idR.", "a pickled call of os.system")]
    [InlineData("\u008c\u0002os\u008c\u0006system\u0093U\u0002id\u0085R.", "a pickled call of os.system")]
    [InlineData("cpathlib\nPath\n)\u0081}b.", "a pickled instance of pathlib.Path")]
    [InlineData("cbuiltins\nopen\n.", "a pickled reference to builtins.open")]
    public void GLOBAL_REDUCE_NEWOBJ_and_BUILD_stay_symbolic_and_are_refused_by_name(string body, string named)
    {
        var pickle = Encoding.Latin1.GetBytes("\u0080\u0004" + body);
        var node = PickleReader.Read(pickle);
        Assert.IsNotType<PickleString>(node);
        var ex = Assert.Throws<PickleException>(() => CeleryPickle.ToJson(node, "result"));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deep_nesting_and_memo_bombs_are_refused_within_bounds()
    {
        var deep = Assert.Throws<PickleException>(() => Json(RefusedPickleAsync("deep").Result));
        Assert.Contains("deeper than 64", deep.Message, StringComparison.Ordinal);

        // 40 levels of [l, l]: a few hundred bytes that would be 2^40 values written out.
        var laughs = await RefusedPickleAsync("laughs");
        Assert.True(laughs.Length < 2000);
        var bomb = Assert.Throws<PickleException>(() => Json(laughs));
        Assert.Contains("larger than", bomb.Message, StringComparison.Ordinal);

        var tupleKey = Assert.Throws<PickleException>(() => Json(RefusedPickleAsync("tuple_key").Result));
        Assert.Contains("keys must be str, int, float, bool or None", tupleKey.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Input_and_item_count_are_bounded()
    {
        var huge = new byte[PickleReader.MaxInputBytes + 1];
        Assert.Contains("at most", Assert.Throws<PickleException>(() => PickleReader.Read(huge)).Message, StringComparison.Ordinal);

        // A million and one Nones on the stack inside one MARK: refused at the count, not by memory.
        var many = new byte[PickleReader.MaxItems + 5];
        many[0] = 0x80;
        many[1] = 4;
        many[2] = (byte)'(';
        many.AsSpan(3).Fill((byte)'N');
        Assert.Contains("more than 1,000,000 items", Assert.Throws<PickleException>(() => PickleReader.Read(many)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_and_garbage_input_is_a_named_error_at_every_length()
    {
        var whole = Convert.FromBase64String((await Generated.Value).GetProperty("shapes").GetProperty("nested").GetProperty("pickles").GetProperty("4").GetString()!);
        for (var length = 0; length < whole.Length; length++)
        {
            var ex = Record.Exception(() => Json(whole[..length]));
            Assert.True(ex is PickleException, $"cut at {length} of {whole.Length}: {ex?.GetType().Name ?? "no error"} {ex?.Message}");
        }

        var random = new Random(20);
        for (var i = 0; i < 2000; i++)
        {
            var garbage = new byte[random.Next(1, 64)];
            random.NextBytes(garbage);
            var ex = Record.Exception(() => Json(garbage));
            Assert.True(ex is null or PickleException, $"garbage {Convert.ToHexString(garbage)}: {ex?.GetType().Name} {ex?.Message}");
        }
    }

    [Fact]
    public void A_pickled_exception_reads_as_Celery_failure_json_and_an_unknown_call_does_not()
    {
        var valueError = PickleReader.Read(Encoding.Latin1.GetBytes("\u0080\u0004cbuiltins\nValueError\nX\u0004\u0000\u0000\u0000boomK*\u0086R."));
        AssertSameJson("""{"exc_type": "ValueError", "exc_message": ["boom", 42], "exc_module": "builtins"}""",
            Encoding.UTF8.GetString(CeleryPickle.ExceptionJson(valueError, "result")!), "ValueError");

        var system = PickleReader.Read(Encoding.Latin1.GetBytes("\u0080\u0004cos\nsystem\nU\u0002id\u0085R."));
        Assert.Null(CeleryPickle.ExceptionJson(system, "result"));
    }
}
