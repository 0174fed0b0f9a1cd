using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ResultGrid.Storage.Migration;

namespace ResultGrid.Tests;

/// <summary>
/// Python's JSON in the SQL store (SQLite): a value with bare NaN/Infinity and integers beyond 64
/// bits is kept byte for byte, reads back as the values, and a record copied from Redis (as the
/// migration copies) has the same digest on both sides.
/// </summary>
public sealed class PythonJsonStoreTests(SqliteCluster sqlite, RedisCluster redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"pyjson-store-{Guid.NewGuid():N}";

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_nan_and_bigint_value_round_trips_byte_exact_in_sqlite()
    {
        var id = NewId();
        var value = new Dictionary<string, object> { ["r"] = new[] { double.NaN, double.NegativeInfinity }, ["big"] = BigInteger.Pow(2, 100) };
        await sqlite.External.MarkSucceededAsync(id, value, cancellationToken: Ct);

        var stored = await sqlite.Store().ReadAsync(id, Ct);
        Assert.Equal("""{"r":[NaN,-Infinity],"big":1267650600228229401496703205376}""", Encoding.UTF8.GetString(stored!.Payload!.Data));

        var info = await sqlite.External.GetAsync(id, Ct);
        var read = info.GetValue<Sample>()!;
        Assert.True(double.IsNaN(read.R[0]) && double.IsNegativeInfinity(read.R[1]));
        Assert.Equal(BigInteger.Pow(2, 100), read.Big);

        // Celery's own spacing, written straight to the store, is kept as it is too.
        var celery = NewId();
        var bytes = "[NaN, 1.5, Infinity, -Infinity, -1237940039285380274899124224]"u8.ToArray();
        await sqlite.Store().WriteAsync(new TaskResult
        {
            TaskId = celery,
            State = TaskStates.Success,
            Payload = new ResultPayload { Data = bytes, ContentType = "application/json", ContentEncoding = "utf-8" },
            DateDone = DateTimeOffset.UtcNow,
        }, Ct);
        Assert.Equal(bytes, (await sqlite.Store().ReadAsync(celery, Ct))!.Payload!.Data);
        var items = (await sqlite.External.GetAsync(celery, Ct)).GetValue<JsonElement[]>()!;
        Assert.Equal("-1237940039285380274899124224", items[4].GetRawText());
        Assert.Equal(-BigInteger.Pow(2, 90), items[4].Deserialize<BigInteger>(new Serialization.JsonResultCodec().Options));
        Assert.Equal("Infinity", items[2].GetString());
    }

    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "sqlite")]
    public async Task A_record_with_python_literals_copied_from_redis_to_sqlite_has_the_same_digest()
    {
        var id = NewId();
        await redis.External.UpdateStateAsync(id, "PROGRESS", new Dictionary<string, object> { ["ratio"] = double.NaN, ["n"] = Int128.MaxValue }, cancellationToken: Ct);
        var fromRedis = await redis.Store().ReadAsync(id, Ct);
        Assert.Null(fromRedis!.Problem);
        Assert.Equal("""{"ratio":NaN,"n":170141183460469231731687303715884105727}""", Encoding.UTF8.GetString(fromRedis.Payload!.Data));

        await sqlite.Store().WriteAsync(fromRedis, Ct);
        var fromSqlite = await sqlite.Store().ReadAsync(id, Ct);

        Assert.Equal(fromRedis.Payload.Data, fromSqlite!.Payload!.Data);
        Assert.Empty(RecordDigest.Differences(fromRedis, fromSqlite));
        Assert.Equal(RecordDigest.Of(fromRedis), RecordDigest.Of(fromSqlite));
    }

    private sealed record Sample([property: JsonPropertyName("r")] double[] R, [property: JsonPropertyName("big")] BigInteger Big);
}
