using System.Numerics;
using System.Text;
using System.Text.Json;
using ResultGrid.Serialization;

namespace ResultGrid.Tests;

/// <summary>
/// The JSON codec against what Python's json module writes and reads: the named float literals,
/// integers beyond 64 bits, and the types it refuses rather than store as something else.
/// </summary>
public sealed class PythonJsonCodecTests
{
    private static readonly ResultSerializer Serializer = new(new ResultSerializationOptions());

    private static readonly int[] OneTwo = [1, 2];

    private static string Json<T>(T value) => Encoding.UTF8.GetString(Serializer.Serialize(value).Data);

    private static T? Read<T>(string json) => Serializer.Deserialize<T>("t-1", Payload(json));

    private static ResultPayload Payload(string json) => new() { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" };

    [Fact]
    public void Non_finite_doubles_are_written_bare_as_python_writes_them()
    {
        Assert.Equal("[NaN,1.5,Infinity,-Infinity]", Json(new[] { double.NaN, 1.5, double.PositiveInfinity, double.NegativeInfinity }));
        Assert.Equal("[NaN,Infinity,-Infinity,0.5]", Json(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0.5f }));
        Assert.Equal("[NaN,-Infinity,0.5]", Json(new[] { Half.NaN, Half.NegativeInfinity, (Half)0.5 }));
        Assert.Equal("{\"ratio\":NaN,\"done\":3}", Json(new Dictionary<string, object> { ["ratio"] = double.NaN, ["done"] = 3 }));
        Assert.Equal("{\"a\":[NaN,{\"b\":Infinity}],\"c\":-Infinity,\"d\":null}", Json(new Dictionary<string, object?>
        {
            ["a"] = new object[] { double.NaN, new Dictionary<string, double> { ["b"] = double.PositiveInfinity } },
            ["c"] = float.NegativeInfinity,
            ["d"] = (double?)null,
        }));
        Assert.Equal("{\"Ratio\":NaN,\"Maybe\":Infinity}", Json(new Progress(double.NaN, double.PositiveInfinity)));
    }

    [Fact]
    public void Bare_literals_read_into_doubles_floats_and_halves()
    {
        var doubles = Read<double[]>("[NaN, 1.5, Infinity, -Infinity]")!;
        Assert.True(double.IsNaN(doubles[0]));
        Assert.Equal([1.5, double.PositiveInfinity, double.NegativeInfinity], doubles[1..]);

        var floats = Read<List<float>>("[NaN, Infinity, -Infinity, 0.25]")!;
        Assert.True(float.IsNaN(floats[0]));
        Assert.Equal([float.PositiveInfinity, float.NegativeInfinity, 0.25f], floats[1..]);

        Assert.True(Half.IsNegativeInfinity(Read<Half[]>("[-Infinity]")![0]));

        var nested = Read<Dictionary<string, Dictionary<string, double?>>>("{\"a\": {\"x\": NaN, \"y\": null, \"z\": -Infinity}}")!;
        Assert.True(double.IsNaN(nested["a"]["x"]!.Value));
        Assert.Null(nested["a"]["y"]);
        Assert.Equal(double.NegativeInfinity, nested["a"]["z"]);

        var progress = Read<Progress>("{\"Ratio\": NaN, \"Maybe\": null}")!;
        Assert.True(double.IsNaN(progress.Ratio));
        Assert.Null(progress.Maybe);
    }

    [Fact]
    public void A_literal_inside_a_string_is_text_and_stays_text()
    {
        var values = Read<object[]>("[\"NaN is \\\"NaN\\\"\", NaN, \"Infinity\"]")!;
        Assert.Equal("NaN is \"NaN\"", ((JsonElement)values[0]).GetString());
        Assert.Equal("Infinity", ((JsonElement)values[2]).GetString());
        Assert.Equal("[\"NaN is \\u0022NaN\\u0022\",NaN]", Json(new object[] { "NaN is \"NaN\"", double.NaN }));
    }

    [Fact]
    public void As_object_or_json_element_a_literal_is_its_name_and_reads_back_as_the_double()
    {
        var element = Read<JsonElement>("{\"r\": [NaN, 1.5, -Infinity]}");
        var r = element.GetProperty("r");
        Assert.Equal(JsonValueKind.String, r[0].ValueKind);
        Assert.Equal("NaN", r[0].GetString());
        Assert.Equal(1.5, r[1].GetDouble());
        Assert.Equal("-Infinity", r[2].GetString());

        // The codec's options read that element as the floats they were.
        var codec = new JsonResultCodec();
        var doubles = r.Deserialize<double[]>(codec.Options)!;
        Assert.True(double.IsNaN(doubles[0]));
        Assert.Equal(double.NegativeInfinity, doubles[2]);

        var boxed = Read<object>("[NaN]");
        Assert.Equal("NaN", ((JsonElement)boxed!)[0].GetString());
    }

    [Fact]
    public void A_literal_into_a_type_without_one_is_a_decode_error_naming_task_and_field()
    {
        var ex = Assert.Throws<ResultDecodeException>(() => Read<decimal[]>("[NaN]"));
        Assert.Equal("t-1", ex.TaskId);
        Assert.Equal("result", ex.Field);
        Assert.Contains("Decimal", ex.Message, StringComparison.Ordinal);

        var meta = Assert.Throws<ResultDecodeException>(() => Serializer.Deserialize<Dictionary<string, int>>("t-2", Payload("{\"ratio\": NaN}"), "meta"));
        Assert.Equal("meta", meta.Field);
        Assert.Contains("The meta of task 't-2'", meta.Message, StringComparison.Ordinal);

        // Not a literal: a misspelt one stays invalid JSON, named as such.
        Assert.Throws<ResultDecodeException>(() => Read<double[]>("[Nan]"));
        Assert.Throws<ResultDecodeException>(() => Read<double[]>("[NaNa]"));
    }

    [Theory]
    [InlineData("1267650600228229401496703205376")] // 2**100
    [InlineData("-1267650600228229401496703205376")]
    [InlineData("1000000000000000000000000000000")] // 10**30
    [InlineData("-1237940039285380274899124224")] // -(2**90)
    public void Integers_beyond_64_bits_round_trip_exactly(string digits)
    {
        var big = BigInteger.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(digits, Json(big));
        Assert.Equal(big, Read<BigInteger>(digits));
        Assert.Equal($"{{\"big\":{digits}}}", Json(new Dictionary<string, BigInteger> { ["big"] = big }));
        Assert.Equal(big, Read<Dictionary<string, BigInteger>>($"{{\"big\": {digits}}}")!["big"]);
        Assert.Equal($"[{digits}]", Json(new object[] { big }));

        // As object or JsonElement the number keeps every digit; as long it is refused, never rounded.
        Assert.Equal(digits, ((JsonElement)Read<object>(digits)!).GetRawText());
        Assert.Equal(digits, Read<JsonElement>($"[{digits}]")[0].GetRawText());
        var ex = Assert.Throws<ResultDecodeException>(() => Read<long>(digits));
        Assert.Equal("result", ex.Field);
    }

    [Fact]
    public void Small_big_integers_and_128_bit_integers_are_numbers()
    {
        Assert.Equal("[0,-1,42]", Json(new BigInteger[] { 0, -1, 42 }));
        Assert.Equal("170141183460469231731687303715884105727", Json(Int128.MaxValue));
        Assert.Equal("-170141183460469231731687303715884105728", Json(Int128.MinValue));
        Assert.Equal("340282366920938463463374607431768211455", Json(UInt128.MaxValue));
        Assert.Equal(Int128.MaxValue, Read<Int128>("170141183460469231731687303715884105727"));
        Assert.Equal(UInt128.MaxValue, Read<UInt128>("340282366920938463463374607431768211455"));
        Assert.Equal(new BigInteger(7), Read<BigInteger>("7"));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("1e30")]
    [InlineData("\"12\"")]
    public void A_big_integer_is_read_only_from_a_whole_number(string json)
    {
        var ex = Assert.Throws<ResultDecodeException>(() => Read<BigInteger>(json));
        Assert.Contains("BigInteger", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<object, string> Refused => new()
    {
        { new Complex(1, 2), "System.Numerics.Complex" },
        { new Vector3(1, 2, 3), "System.Numerics.Vector3" },
        { Matrix3x2.Identity, "System.Numerics.Matrix3x2" },
        { new MemoryStream([1, 2]), "System.IO.MemoryStream" },
        { Task.FromResult(3), "System.Threading.Tasks.Task<System.Int32>" },
        { CancellationToken.None, "System.Threading.CancellationToken" },
        { typeof(string), "System.RuntimeType" },
        { new Func<int>(() => 1), "System.Func<System.Int32>" },
        { IntPtr.Zero, "System.IntPtr" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_type_the_codec_cannot_represent_is_refused_naming_task_field_and_type(object value, string typeName)
    {
        var ex = Assert.Throws<ResultEncodeException>(() => Serializer.SerializeFor("t-9", "result", value));
        Assert.Equal("t-9", ex.TaskId);
        Assert.Equal("result", ex.Field);
        Assert.StartsWith($"The result of task 't-9' (type {typeName}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was written", ex.Message, StringComparison.Ordinal);

        // Inside a value too, where the type is only known at write.
        var nested = Assert.Throws<ResultEncodeException>(() => Serializer.SerializeFor("t-9", "meta", new Dictionary<string, object> { ["x"] = value }));
        Assert.Equal("meta", nested.Field);
        Assert.Contains("The meta of task 't-9'", nested.Message, StringComparison.Ordinal);
        Assert.Contains(typeName.Split('<')[0], nested.Message, StringComparison.Ordinal);

        // Without a task, the type is still named.
        var plain = Assert.Throws<ResultEncodeException>(() => Serializer.Serialize(value));
        Assert.StartsWith($"A value of type {typeName}", plain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_callers_json_options_are_kept_and_not_changed()
    {
        var mine = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        var serializer = new ResultSerializer(new ResultSerializationOptions { Json = mine });

        Assert.Equal("{\"ratio\":NaN,\"maybe\":null}", Encoding.UTF8.GetString(serializer.Serialize(new Progress(double.NaN, null)).Data));
        Assert.Empty(mine.Converters);
        Assert.False(mine.IsReadOnly);
    }

    [Fact]
    public void The_literal_scanner_leaves_strict_json_alone_and_keeps_offsets_when_masking()
    {
        Assert.Null(PythonJsonLiterals.Quote("{\"a\":[1,\"NaN\",true,null,-1e5]}"u8));
        Assert.False(PythonJsonLiterals.Contains("[\"Infinity\\\" NaN\"]"u8));
        Assert.True(PythonJsonLiterals.Contains("[\"x\",-Infinity]"u8));

        var raw = "{\"a\":[NaN,Infinity,-Infinity],\"s\":\"NaN\"}"u8;
        var masked = PythonJsonLiterals.Mask(raw)!;
        Assert.Equal(raw.Length, masked.Length);
        Assert.Equal("{\"a\":[0e0,0.000000,-0.000000],\"s\":\"NaN\"}", Encoding.UTF8.GetString(masked));
        Assert.Equal("{\"a\":[\"NaN\",\"Infinity\",\"-Infinity\"],\"s\":\"NaN\"}", Encoding.UTF8.GetString(PythonJsonLiterals.Quote(raw)!));
    }

    [Fact]
    public void A_chords_argument_list_keeps_each_json_value_as_stored()
    {
        var gzip = new ResultSerializer(new ResultSerializationOptions { Compression = "gzip", CompressionThreshold = 1 });
        var list = Serializer.JsonList(
        [
            ("a", Payload("[NaN, 1.5, -Infinity]")),
            ("b", Payload("1267650600228229401496703205376")),
            ("c", null),
            ("d", gzip.Serialize(new Dictionary<string, double> { ["r"] = double.PositiveInfinity })),
            ("e", Serializer.Serialize(OneTwo)),
        ]);

        Assert.Equal("[[NaN, 1.5, -Infinity],1267650600228229401496703205376,null,{\"r\":Infinity},[1,2]]", Encoding.UTF8.GetString(list.Data));
        var back = Serializer.Deserialize<object[]>("chord", list)!;
        Assert.Equal(5, back.Length);

        var bad = Assert.Throws<ResultDecodeException>(() => Serializer.JsonList([("x", Payload("[NaN,"))]));
        Assert.Equal("x", bad.TaskId);
    }

    private sealed record Progress(double Ratio, double? Maybe);
}
