using System.Text;
using ResultGrid.Client;
using ResultGrid.Serialization;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

public enum Priority
{
    Low,
    High,
}

public sealed record Line(string Sku, int Quantity, decimal Price);

/// <summary>Every kind of value the codecs promise to carry.</summary>
public sealed record Order(
    Guid Id,
    DateTime CreatedUtc,
    DateTimeOffset Due,
    decimal Total,
    byte[] Signature,
    Priority Priority,
    int? Discount,
    string? Note,
    Dictionary<string, int> Counts,
    List<Line> Lines)
{
    public static Order Sample(int lines = 3) => new(
        Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
        new DateTime(2026, 11, 24, 10, 16, 23, 442, DateTimeKind.Utc),
        new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.FromHours(2)),
        1234.5678m,
        [0, 1, 2, 250, 255],
        Priority.High,
        null,
        "ünïcødé",
        new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 },
        Enumerable.Range(0, lines).Select(i => new Line($"SKU-{i % 7}", i, 9.99m)).ToList());

    public bool SameAs(Order other) =>
        Id == other.Id && CreatedUtc == other.CreatedUtc && CreatedUtc.Kind == DateTimeKind.Utc && Due == other.Due && Due.Offset == other.Due.Offset &&
        Total == other.Total && Signature.SequenceEqual(other.Signature) && Priority == other.Priority && Discount == other.Discount && Note == other.Note &&
        Counts.OrderBy(p => p.Key).SequenceEqual(other.Counts.OrderBy(p => p.Key)) && Lines.SequenceEqual(other.Lines);
}

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

/// <summary>Every codec and compression through the grains into a real store and back.</summary>
public abstract class CodecMatrixTests(ResultCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Combinations()
    {
        var data = new TheoryData<string, string>();
        foreach (var codec in new[] { "json", "msgpack" })
        {
            foreach (var compression in new[] { "none", "gzip", "brotli", "zstd" })
            {
                data.Add(codec, compression);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task A_value_round_trips_with_every_codec_and_compression(string codec, string compression)
    {
        var id = $"codec-{codec}-{compression}-{Guid.NewGuid():N}";
        await cluster.OnSilo(0).MarkSucceededAsync(id, Order.Sample(100), new ResultWriteOptions { Serializer = codec, Compression = compression }, Ct);

        var stored = await cluster.Store().ReadAsync(id, Ct);
        Assert.Equal(codec == "json" ? "application/json" : "application/x-msgpack", stored!.Payload!.ContentType);
        Assert.Equal(compression switch { "none" => codec == "json" ? "utf-8" : "binary", "brotli" => "br", _ => compression }, stored.Payload.ContentEncoding);

        var read = await cluster.OnSilo(1).WaitAsync<Order>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.True(Order.Sample(100).SameAs(read.Value!));
    }

    [Fact]
    public async Task Raw_bytes_round_trip_compressed_and_not()
    {
        var bytes = Enumerable.Range(0, 5000).Select(i => (byte)(i % 13)).ToArray();
        foreach (var compression in new[] { "none", "zstd" })
        {
            var id = $"raw-{compression}-{Guid.NewGuid():N}";
            await cluster.OnSilo(0).MarkSucceededAsync(id, bytes, new ResultWriteOptions { Serializer = "raw", Compression = compression }, Ct);
            Assert.Equal(bytes, (await cluster.OnSilo(1).GetAsync(id, Ct)).GetValue<byte[]>());
        }
    }

    [Fact]
    public async Task A_reader_with_other_settings_reads_compressed_json_written_before()
    {
        var id = $"mixed-{Guid.NewGuid():N}";
        await cluster.OnSilo(0).MarkSucceededAsync(id, Order.Sample(100), new ResultWriteOptions { Compression = "zstd" }, Ct);

        // The external client has compression off and accepts JSON only: the payload says zstd.
        Assert.True(Order.Sample(100).SameAs((await cluster.External.GetAsync(id, Ct)).GetValue<Order>()!));
    }

    [Fact]
    public async Task The_silo_refuses_a_value_its_readers_do_not_accept()
    {
        var id = $"refused-{Guid.NewGuid():N}";
        var writer = cluster.Grains.GetGrain<IResultWriterGrain>(0);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new TaskResult
        {
            TaskId = id,
            State = TaskStates.Success,
            Payload = new ResultPayload { Data = [1, 2], ContentType = "application/x-pickle", ContentEncoding = "binary" },
        }, null));
        Assert.Contains("application/x-pickle", ex.Message, StringComparison.Ordinal);
        Assert.Contains("application/json", ex.Message, StringComparison.Ordinal);
        Assert.False(await cluster.External.ExistsAsync(id, Ct));
    }
}

public sealed class MemoryCodecMatrixTests(MemoryCluster cluster) : CodecMatrixTests(cluster);

public sealed class RedisCodecMatrixTests(RedisCluster cluster) : CodecMatrixTests(cluster);
public sealed class RpcCodecMatrixTests(RpcCluster cluster) : CodecMatrixTests(cluster);
