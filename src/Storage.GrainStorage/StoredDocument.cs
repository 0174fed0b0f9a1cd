using System.Text.Json;
using System.Text.Json.Serialization;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// The document inside a <see cref="GrainStorageRecord"/>: JSON with short field names, one
/// shape for results, groups and claims, a format version first. Fields are plain values
/// (strings, numbers, base64 bytes): decoding never picks a type from the data.
/// </summary>
internal static class StoredDocument
{
    /// <summary>The format written today; a reader refuses a newer one by name rather than guess.</summary>
    public const int Version = 1;

    public static byte[] Encode(TaskResult result) => JsonSerializer.SerializeToUtf8Bytes(new ResultDto
    {
        V = Version,
        Id = result.TaskId,
        State = result.State,
        Payload = PayloadDto.From(result.Payload),
        Traceback = result.Traceback,
        DoneMs = result.DateDone?.ToUnixTimeMilliseconds(),
        DoneUs = Microseconds(result.DateDone),
        Children = result.Children,
        GroupId = result.GroupId,
        ParentId = result.ParentId,
        Name = result.Name,
        Args = PayloadDto.From(result.Args),
        Kwargs = PayloadDto.From(result.Kwargs),
        Worker = result.Worker,
        Retries = result.Retries,
        Queue = result.Queue,
        ExpiresMs = result.ExpiresAt?.ToUnixTimeMilliseconds(),
    }, StoredDocumentJson.Default.ResultDto);

    /// <summary>The stored result, or one with <see cref="TaskResult.Problem"/> set when the document cannot be read.</summary>
    public static TaskResult DecodeResult(string taskId, byte[] document)
    {
        ResultDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(document, StoredDocumentJson.Default.ResultDto);
        }
        catch (JsonException ex)
        {
            return Unreadable(taskId, $"not a ResultGrid grain-storage document ({ex.Message})");
        }

        if (dto is null || dto.V != Version || string.IsNullOrEmpty(dto.State))
        {
            return Unreadable(taskId, dto is { V: not Version } ? $"document format {dto.V}; this version reads format {Version}" : "the document has no state");
        }

        return new TaskResult
        {
            TaskId = taskId,
            State = dto.State,
            Payload = dto.Payload?.ToPayload(),
            Traceback = dto.Traceback,
            DateDone = DateDone(dto.DoneUs, dto.DoneMs),
            Children = dto.Children,
            GroupId = dto.GroupId,
            ParentId = dto.ParentId,
            Name = dto.Name,
            Args = dto.Args?.ToPayload(),
            Kwargs = dto.Kwargs?.ToPayload(),
            Worker = dto.Worker,
            Retries = dto.Retries,
            Queue = dto.Queue,
            ExpiresAt = dto.ExpiresMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
        };
    }

    public static byte[] Encode(GroupMeta group) => JsonSerializer.SerializeToUtf8Bytes(new GroupDto
    {
        V = Version,
        Id = group.GroupId,
        Children = group.TaskIds,
        DoneMs = group.DateDone?.ToUnixTimeMilliseconds(),
        DoneUs = Microseconds(group.DateDone),
        ExpiresMs = group.ExpiresAt?.ToUnixTimeMilliseconds(),
        Chord = group.Chord?.ToJson(),
    }, StoredDocumentJson.Default.GroupDto);

    /// <exception cref="FormatException">The document is not a stored group.</exception>
    public static GroupMeta DecodeGroup(string groupId, byte[] document)
    {
        GroupDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(document, StoredDocumentJson.Default.GroupDto);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The stored group '{groupId}' is not a ResultGrid grain-storage document: {ex.Message}", ex);
        }

        if (dto is null || dto.V != Version || dto.Children is null)
        {
            throw new FormatException($"The stored group '{groupId}' has no children or is of document format {dto?.V}; this version reads format {Version}.");
        }

        return new GroupMeta
        {
            GroupId = groupId,
            TaskIds = dto.Children,
            DateDone = DateDone(dto.DoneUs, dto.DoneMs),
            ExpiresAt = dto.ExpiresMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            Chord = dto.Chord is { } chord ? ChordBody.FromJson(chord) : null,
        };
    }

    /// <summary>A claim: when it lapses (null: never).</summary>
    public static byte[] EncodeClaim(DateTimeOffset? expiresAt) =>
        JsonSerializer.SerializeToUtf8Bytes(new ClaimDto { V = Version, ExpiresMs = expiresAt?.ToUnixTimeMilliseconds() }, StoredDocumentJson.Default.ClaimDto);

    /// <summary>When the stored claim lapses; a claim that cannot be read counts as held forever (a chord body must never run twice).</summary>
    public static DateTimeOffset? ClaimExpiry(byte[] document)
    {
        try
        {
            var dto = JsonSerializer.Deserialize(document, StoredDocumentJson.Default.ClaimDto);
            return dto?.ExpiresMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>An expiry bucket's ids, or the slot directory's slots with their generations.</summary>
    public static byte[] EncodeIds(IReadOnlyCollection<string> ids) =>
        JsonSerializer.SerializeToUtf8Bytes(new IdsDto { V = Version, Ids = [.. ids] }, StoredDocumentJson.Default.IdsDto);

    /// <exception cref="FormatException">The document is not a stored list of ids.</exception>
    public static string[] DecodeIds(string what, byte[] document)
    {
        try
        {
            return JsonSerializer.Deserialize(document, StoredDocumentJson.Default.IdsDto)?.Ids
                ?? throw new FormatException($"The stored {what} holds no ids.");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The stored {what} is not a ResultGrid grain-storage document: {ex.Message}", ex);
        }
    }

    // The completion time to the microsecond, as the SQL stores and Celery keep it (a migration's
    // verify compares it exactly); done_ms is still written for readers of format 1 before it.
    private static long? Microseconds(DateTimeOffset? at) => at is { } t ? (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond : null;

    private static DateTimeOffset? DateDone(long? microseconds, long? milliseconds) =>
        microseconds is { } us ? DateTimeOffset.UnixEpoch.AddTicks(us * TimeSpan.TicksPerMicrosecond)
        : milliseconds is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
        : null;

    private static TaskResult Unreadable(string taskId, string reason) => new()
    {
        TaskId = taskId,
        State = TaskStates.Unreadable,
        Problem = new RecordProblem { Field = "document", Reason = reason },
    };
}

internal sealed class ResultDto
{
    [JsonPropertyName("v")] public int V { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("state")] public string? State { get; set; }
    [JsonPropertyName("payload")] public PayloadDto? Payload { get; set; }
    [JsonPropertyName("traceback")] public string? Traceback { get; set; }
    [JsonPropertyName("done_ms")] public long? DoneMs { get; set; }
    [JsonPropertyName("done_us")] public long? DoneUs { get; set; }
    [JsonPropertyName("children")] public string[]? Children { get; set; }
    [JsonPropertyName("group_id")] public string? GroupId { get; set; }
    [JsonPropertyName("parent_id")] public string? ParentId { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("args")] public PayloadDto? Args { get; set; }
    [JsonPropertyName("kwargs")] public PayloadDto? Kwargs { get; set; }
    [JsonPropertyName("worker")] public string? Worker { get; set; }
    [JsonPropertyName("retries")] public int? Retries { get; set; }
    [JsonPropertyName("queue")] public string? Queue { get; set; }
    [JsonPropertyName("expires_ms")] public long? ExpiresMs { get; set; }
}

internal sealed class PayloadDto
{
    [JsonPropertyName("data")] public byte[] Data { get; set; } = [];
    [JsonPropertyName("type")] public string ContentType { get; set; } = "";
    [JsonPropertyName("encoding")] public string? ContentEncoding { get; set; }

    public static PayloadDto? From(ResultPayload? payload) =>
        payload is null ? null : new PayloadDto { Data = payload.Data, ContentType = payload.ContentType, ContentEncoding = payload.ContentEncoding };

    public ResultPayload ToPayload() => new() { Data = Data, ContentType = ContentType, ContentEncoding = ContentEncoding };
}

internal sealed class GroupDto
{
    [JsonPropertyName("v")] public int V { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("children")] public string[]? Children { get; set; }
    [JsonPropertyName("done_ms")] public long? DoneMs { get; set; }
    [JsonPropertyName("done_us")] public long? DoneUs { get; set; }
    [JsonPropertyName("expires_ms")] public long? ExpiresMs { get; set; }
    [JsonPropertyName("chord")] public string? Chord { get; set; }
}

internal sealed class ClaimDto
{
    [JsonPropertyName("v")] public int V { get; set; }
    [JsonPropertyName("expires_ms")] public long? ExpiresMs { get; set; }
}

internal sealed class IdsDto
{
    [JsonPropertyName("v")] public int V { get; set; }
    [JsonPropertyName("ids")] public string[]? Ids { get; set; }
}

[JsonSerializable(typeof(IdsDto))]
[JsonSerializable(typeof(ResultDto))]
[JsonSerializable(typeof(GroupDto))]
[JsonSerializable(typeof(ClaimDto))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class StoredDocumentJson : JsonSerializerContext;
