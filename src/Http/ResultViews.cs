using System.Text.Json;
using System.Text.Json.Serialization;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Http;

/// <summary>A JSON value passed on exactly as stored (already checked to be one JSON value).</summary>
[JsonConverter(typeof(RawJsonConverter))]
internal sealed class RawJson(byte[] utf8, bool namedLiterals = false)
{
    internal byte[] Utf8 { get; } = utf8;

    /// <summary>True when the stored value held bare NaN/Infinity/-Infinity, which <see cref="Utf8"/> has as strings.</summary>
    internal bool NamedLiterals { get; } = namedLiterals;

    /// <summary>
    /// The bytes if they are exactly one JSON value; null otherwise. A value Python's json wrote
    /// with bare <c>NaN</c>, <c>Infinity</c> or <c>-Infinity</c> (invalid JSON for every HTTP
    /// client) is given with those literals as the strings <c>"NaN"</c>, <c>"Infinity"</c>,
    /// <c>"-Infinity"</c>, the form System.Text.Json's AllowNamedFloatingPointLiterals reads as the
    /// double; every other byte, integers of any size included, is passed on as stored.
    /// </summary>
    internal static RawJson? TryCreate(byte[] utf8) =>
        Strict(utf8, false) ?? (PythonJsonLiterals.Quote(utf8) is { } quoted ? Strict(quoted, true) : null);

    private static RawJson? Strict(byte[] utf8, bool namedLiterals)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read())
            {
                return null;
            }

            reader.Skip();
            // Nothing but whitespace may follow the one value.
            while (reader.Read())
            {
                return null;
            }

            return new RawJson(utf8, namedLiterals);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed class RawJsonConverter : JsonConverter<RawJson>
    {
        public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return new RawJson(JsonSerializer.SerializeToUtf8Bytes(document.RootElement));
        }

        public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.Utf8, skipInputValidation: true);
    }
}

/// <summary>One task's result as the API shows it.</summary>
internal sealed record ResultView
{
    public required string TaskId { get; init; }
    public required string State { get; init; }
    public required bool Ready { get; init; }

    /// <summary>stored, expired, consumed or pending.</summary>
    public required string Existence { get; init; }

    /// <summary>The SUCCESS value, when it is JSON.</summary>
    public RawJson? Value { get; init; }

    /// <summary>The SUCCESS value or meta in base64, when it is not JSON (its <see cref="ContentType"/> says what).</summary>
    public string? ValueBase64 { get; init; }

    public string? ContentType { get; init; }
    public string? ContentEncoding { get; init; }

    /// <summary>The meta of STARTED and custom states such as PROGRESS, when it is JSON.</summary>
    public RawJson? Meta { get; init; }

    public FailureView? Failure { get; init; }
    public string? Traceback { get; init; }
    public DateTimeOffset? DateDone { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? Name { get; init; }
    public RawJson? Args { get; init; }
    public RawJson? Kwargs { get; init; }
    public string? Worker { get; init; }
    public int? Retries { get; init; }
    public string? Queue { get; init; }
    public string? GroupId { get; init; }
    public string? ParentId { get; init; }
    public IReadOnlyList<string> Children { get; init; } = [];

    /// <summary>A stored field that could not be read, and why; the other fields are as stored.</summary>
    public ProblemView? Problem { get; init; }
}

internal sealed record FailureView(string Type, string Message, string? Module, string? Traceback, RawJson? Arguments);

internal sealed record ProblemView(string Field, string Reason);

/// <summary>A search row: what the result is, never its value.</summary>
internal sealed record ResultSummary
{
    public required string TaskId { get; init; }
    public required string State { get; init; }
    public string? Name { get; init; }
    public string? GroupId { get; init; }
    public string? ParentId { get; init; }
    public string? Worker { get; init; }
    public string? Queue { get; init; }
    public int? Retries { get; init; }
    public DateTimeOffset? DateDone { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? ContentType { get; init; }

    /// <summary>The stored value's size in bytes (compressed, if it is).</summary>
    public long ValueBytes { get; init; }
}

internal sealed record SearchPage(IReadOnlyList<ResultSummary> Items, string? NextCursor, IReadOnlyList<UnreadableView> Unreadable);

internal sealed record UnreadableView(string TaskId, string Field, string Reason);

internal sealed record WriteAnswer(string TaskId, string State, string Outcome, bool Stored, string Detail);

internal sealed record ForgetAnswer(string TaskId, bool Forgotten);

internal sealed record ChildState(string TaskId, string State);

internal sealed record GroupView
{
    public required string GroupId { get; init; }
    public bool Exists { get; init; }
    public int Total { get; init; }
    public int Completed { get; init; }
    public int Succeeded { get; init; }
    public int Failed { get; init; }
    public int Waiting { get; init; }
    public bool Ready { get; init; }
    public IReadOnlyList<ChildState>? Children { get; init; }

    /// <summary>The chord's body (its task id, name and state now) when the group is a chord's header.</summary>
    public ChordView? Chord { get; init; }
}

internal sealed record ChordView(string TaskId, string Name, string? State);

internal sealed record JoinAnswer(string GroupId, bool Ready, IReadOnlyList<ResultView>? Results, GroupView? Status);

internal sealed record SubmitAnswer(string TaskId, string Location, bool ResultIgnored);

/// <summary>Turns what the SDK read into what the API shows.</summary>
internal sealed class ResultViews(ResultSerializer serializer)
{
    public ResultView View(TaskResultInfo info, ResultExistence? existence = null)
    {
        var record = info.Record;
        var view = new ResultView
        {
            TaskId = record.TaskId,
            State = record.State,
            Ready = record.IsReady,
            Existence = Existence(record, existence),
            Traceback = record.Traceback,
            DateDone = record.DateDone,
            ExpiresAt = record.ExpiresAt,
            Name = record.Name,
            Args = Json(record.TaskId, record.Args),
            Kwargs = Json(record.TaskId, record.Kwargs),
            Worker = record.Worker,
            Retries = record.Retries,
            Queue = record.Queue,
            GroupId = record.GroupId,
            ParentId = record.ParentId,
            Children = record.Children ?? [],
            Problem = record.Problem is { } p ? new ProblemView(p.Field, p.Reason) : null,
        };

        if (record.Payload is not { } payload || record.Problem is not null)
        {
            return view;
        }

        if (TaskStates.IsExceptionState(record.State))
        {
            try
            {
                var failure = serializer.ReadFailure(record);
                return view with
                {
                    Failure = new FailureView(failure.ExceptionType, failure.Message, failure.ExceptionModule, failure.Traceback,
                        failure.ArgumentsJson is { } args ? RawJson.TryCreate(System.Text.Encoding.UTF8.GetBytes(args)) : null),
                };
            }
            catch (ResultDecodeException ex)
            {
                return view with { Problem = new ProblemView(ex.Field ?? "result", ex.Message) };
            }
        }

        byte[] bytes;
        try
        {
            bytes = serializer.Uncompressed(record.TaskId, payload);
        }
        catch (ResultDecodeException ex)
        {
            return view with { Problem = new ProblemView(ex.Field ?? "result", ex.Message), ContentType = payload.ContentType, ContentEncoding = payload.ContentEncoding };
        }

        var json = IsJson(payload.ContentType) ? RawJson.TryCreate(bytes) : null;
        var success = record.State == TaskStates.Success;
        if (json is not null)
        {
            return success ? view with { Value = json } : view with { Meta = json };
        }

        return view with
        {
            ValueBase64 = Convert.ToBase64String(bytes),
            ContentType = payload.ContentType,
            Problem = IsJson(payload.ContentType) ? new ProblemView("result", $"The stored value is {payload.ContentType} but not valid JSON ({bytes.Length} bytes); it is given as valueBase64.") : null,
        };
    }

    public static ResultSummary Summary(TaskResult record) => new()
    {
        TaskId = record.TaskId,
        State = record.State,
        Name = record.Name,
        GroupId = record.GroupId,
        ParentId = record.ParentId,
        Worker = record.Worker,
        Queue = record.Queue,
        Retries = record.Retries,
        DateDone = record.DateDone,
        ExpiresAt = record.ExpiresAt,
        ContentType = record.Payload?.ContentType,
        ValueBytes = record.Payload?.Data.LongLength ?? 0,
    };

    public static GroupView Group(GroupStatus status, IReadOnlyList<TaskResultInfo>? children = null, string? chordState = null) => new()
    {
        Chord = status.Chord is { } chord ? new ChordView(chord.TaskId, chord.Name, chordState) : null,
        GroupId = status.GroupId,
        Exists = status.Exists,
        Total = status.Total,
        Completed = status.Completed,
        Succeeded = status.Succeeded,
        Failed = status.Failed,
        Waiting = status.Waiting,
        Ready = status.IsReady,
        Children = children?.Select(c => new ChildState(c.TaskId, c.Record.EffectiveState)).ToArray(),
    };

    public static string ExistenceName(ResultExistence existence) => existence switch
    {
        ResultExistence.Stored => "stored",
        ResultExistence.Expired => "expired",
        ResultExistence.Consumed => "consumed",
        _ => "pending",
    };

    /// <summary>A record read whole says it is stored; only a PENDING one needs the store's word on why.</summary>
    public static bool NeedsExistence(TaskResult record) => record.State == TaskStates.Pending;

    private static string Existence(TaskResult record, ResultExistence? asked) =>
        record.State == TaskStates.Consumed ? "consumed"
        : record.State == TaskStates.Pending ? ExistenceName(asked ?? ResultExistence.Pending)
        : "stored";

    internal static bool IsJson(string? contentType) =>
        contentType is not null && (contentType.Equals(JsonResultCodec.MediaType, StringComparison.OrdinalIgnoreCase) || contentType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    private RawJson? Json(string taskId, ResultPayload? payload)
    {
        if (payload is null || !IsJson(payload.ContentType))
        {
            return null;
        }

        try
        {
            return RawJson.TryCreate(serializer.Uncompressed(taskId, payload));
        }
        catch (ResultDecodeException)
        {
            return null;
        }
    }
}
