using System.Text;
using ResultGrid.Serialization;

namespace ResultGrid.Tests;

/// <summary>The serializer alone: codecs, compression, limits, the whitelist.</summary>
public sealed class SerializerTests
{
    private static readonly string[] Tags = ["a", "b"];

    private static ResultSerializer Serializer(Action<ResultSerializationOptions>? configure = null)
    {
        var options = new ResultSerializationOptions { AcceptContent = ["json", "msgpack", "raw"] };
        configure?.Invoke(options);
        return new ResultSerializer(options);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("msgpack")]
    public void Every_kind_of_value_round_trips(string codec)
    {
        var serializer = Serializer();
        var payload = serializer.Serialize(Order.Sample(), codec, "none");
        Assert.True(Order.Sample().SameAs(serializer.Deserialize<Order>("t", payload)!));
    }

    [Fact]
    public void Json_writes_dates_as_iso_8601_bytes_as_base64_and_enums_as_numbers()
    {
        var json = Encoding.UTF8.GetString(Serializer().Serialize(Order.Sample(), "json", "none").Data);
        Assert.Contains("\"CreatedUtc\":\"2026-11-24T10:16:23.442Z\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Due\":\"2026-12-01T08:00:00+02:00\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Signature\":\"AAEC+v8=\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Id\":\"6f9619ff-8b86-d011-b42d-00cf4fc964ff\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Total\":1234.5678", json, StringComparison.Ordinal);
        Assert.Contains("\"Priority\":1", json, StringComparison.Ordinal);
        Assert.Contains("\"Discount\":null", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("brotli", "br")]
    [InlineData("zstd", "zstd")]
    public void Compression_is_recorded_with_the_payload_and_undone_by_any_reader(string compression, string token)
    {
        var writer = Serializer(o => o.Compression = compression);
        var payload = writer.Serialize(Order.Sample(200));

        Assert.Equal(token, payload.ContentEncoding);
        Assert.True(payload.Data.Length < writer.Serialize(Order.Sample(200), compression: "none").Data.Length / 3);

        // A reader with compression off (or another one) reads it: the payload says how.
        var reader = Serializer(o => o.Compression = "none");
        Assert.True(Order.Sample(200).SameAs(reader.Deserialize<Order>("t", payload)!));
    }

    [Fact]
    public void Results_below_the_threshold_are_stored_as_they_are()
    {
        var serializer = Serializer(o =>
        {
            o.Compression = "zstd";
            o.CompressionThreshold = 4096;
        });
        var small = serializer.Serialize(new { ok = true });
        Assert.Equal("utf-8", small.ContentEncoding);
        Assert.Equal("{\"ok\":true}", Encoding.UTF8.GetString(small.Data));
        Assert.Equal("zstd", serializer.Serialize(Order.Sample(500)).ContentEncoding);
    }

    [Fact]
    public void Zstd_keeps_a_megabyte_of_repetitive_json_under_a_fifth_of_its_size()
    {
        var serializer = Serializer(o => o.Compression = "zstd");
        var records = Enumerable.Range(0, 16000).Select(i => new { id = i, status = "SUCCESS", worker = $"w{i % 8}@host", tags = Tags }).ToArray();
        var plain = serializer.Serialize(records, compression: "none").Data.Length;
        var packed = serializer.Serialize(records).Data.Length;
        Assert.True(plain > 1_000_000, $"{plain} bytes");
        Assert.True(packed < plain / 5, $"{packed} of {plain} bytes");
    }

    [Fact]
    public void A_corrupt_or_truncated_compressed_payload_is_a_decode_error_for_that_result()
    {
        var serializer = Serializer(o => o.Compression = "gzip");
        var payload = serializer.Serialize(Order.Sample(200));
        var truncated = payload with { Data = payload.Data[..(payload.Data.Length / 2)] };
        var garbage = payload with { Data = [1, 2, 3, 4, 5] };

        Assert.Contains("'t1'", Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<Order>("t1", truncated)).Message, StringComparison.Ordinal);
        Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<Order>("t1", garbage));
        Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<Order>("t1", garbage with { ContentEncoding = "zstd" }));
        Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<Order>("t1", payload with { ContentType = "application/x-msgpack", ContentEncoding = "binary", Data = [0xc1] }));
    }

    [Fact]
    public void A_msgpack_payload_read_as_json_is_its_json_view_and_a_wrong_type_names_the_task()
    {
        // The HTTP API and chord bodies read every payload as a JsonElement: a msgpack one must
        // come back as its JSON, not as an undefined element that fails later, unwrapped.
        var serializer = Serializer();
        var payload = serializer.Serialize(Order.Sample(), "msgpack", "none");
        var json = serializer.Deserialize<System.Text.Json.JsonElement>("t-mp", payload);
        Assert.Equal(System.Text.Json.JsonValueKind.Object, json.ValueKind);
        Assert.Equal("ünïcødé", json.GetProperty("Note").GetString());
        Assert.Equal(2, json.GetProperty("Counts").GetProperty("b").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("Discount").ValueKind);
        Assert.Equal(3, json.GetProperty("Lines").GetArrayLength());

        var ex = Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<int>("t-mp", payload));
        Assert.Contains("'t-mp'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<System.Text.Json.JsonElement>("t-mp", payload with { Data = [0xc1] }));
    }

    [Fact]
    public void A_payload_that_would_expand_past_the_limit_is_refused_not_expanded()
    {
        var writer = Serializer(o => o.Compression = "zstd");
        var bomb = writer.Serialize(new string('x', 4 * 1024 * 1024));
        Assert.True(bomb.Data.Length < 4096);

        var reader = Serializer(o => o.MaxDecompressedBytes = 1024 * 1024);
        var ex = Assert.Throws<ResultDecodeException>(() => reader.Deserialize<string>("bomb", bomb));
        Assert.Contains("MaxDecompressedBytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_content_encoding_is_named()
    {
        var payload = new ResultPayload { Data = [1], ContentType = "application/json", ContentEncoding = "lz4" };
        var ex = Assert.Throws<ResultDecodeException>(() => Serializer().Deserialize<int>("t", payload));
        Assert.Contains("'lz4'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("gzip, br, zstd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_codec_of_the_applications_own_is_registered_and_used_by_name()
    {
        var upper = new DelegateResultCodec(
            "upper",
            "application/x-upper",
            (value, _) => Encoding.UTF8.GetBytes(((string)value!).ToUpperInvariant()),
            (data, type) => type == typeof(string) ? Encoding.UTF8.GetString(data.Span) : throw new InvalidCastException($"upper decodes strings, not {type.Name}"),
            "utf-8");
        var serializer = Serializer(o =>
        {
            o.Codecs.Add(upper);
            o.AcceptContent = ["json", "upper"];
        });

        var payload = serializer.Serialize("hello", "upper");
        Assert.Equal("application/x-upper", payload.ContentType);
        Assert.Equal("HELLO", serializer.Deserialize<string>("t", payload));
        Assert.Throws<ResultDecodeException>(() => serializer.Deserialize<int>("t", payload));
    }

    [Fact]
    public void A_codec_outside_the_whitelist_is_refused_on_write_naming_it_and_the_list()
    {
        var ex = Assert.Throws<ContentTypeNotAcceptedException>(() => new ResultSerializer(new ResultSerializationOptions()).Serialize(1, "msgpack"));
        Assert.Contains("application/x-msgpack", ex.Message, StringComparison.Ordinal);
        Assert.Contains("application/json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compression_options_are_checked_with_what_is_allowed()
    {
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new ResultSerializer(new ResultSerializationOptions
        {
            Compression = "lzma",
            CompressionLevel = 12,
            CompressionThreshold = -1,
        }));
        Assert.Contains("allowed: none, gzip, brotli, zstd", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CompressionLevel is 12", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CompressionThreshold is -1", ex.Message, StringComparison.Ordinal);
    }
}
