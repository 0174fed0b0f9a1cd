using ResultGrid.Client;

namespace ResultGrid.Tests;

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
