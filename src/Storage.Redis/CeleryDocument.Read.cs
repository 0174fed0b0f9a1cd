using System.Text.Json;

namespace ResultGrid.Storage.Redis;

/// <summary>Reading a task's document, written by ResultGrid or by Celery: what is stored is never an exception, only a named problem.</summary>
internal static partial class CeleryDocument
{
    /// <summary>Reads a document written by ResultGrid or by Celery.</summary>
    /// <remarks>
    /// One forward pass of a <see cref="Utf8JsonReader"/> over the bytes, taking raw slices of the
    /// values that stay JSON (result, args, kwargs): joins read thousands of documents at once,
    /// and a parsed JsonDocument with a lookup per field cost ~6 µs a document, most of a
    /// 10,000-task join.
    /// <para>
    /// Never throws for what is stored: a value that is not JSON, not an object, or has no status
    /// is an <see cref="TaskStates.Unreadable"/> record; a field of the wrong JSON type or form
    /// (<c>"date_done": 5</c>, <c>"children": "x"</c>, a date that is not a date) is left null and
    /// named in the record's <see cref="TaskResult.Problem"/>, with every other field read.
    /// </para>
    /// </remarks>
    public static TaskResult Decode(string taskId, ReadOnlyMemory<byte> document)
    {
        var record = Decode(taskId, document, document.Span);
        // Python's json writes NaN, Infinity and -Infinity bare, which the strict reader refuses.
        // Only then is the document read again, its structure from a copy with each literal
        // masked by a number of the same length and its raw slices (result, args, kwargs) from the
        // original bytes, so the value keeps its literals for the codec: the common path is the
        // single strict pass it always was (measured on a Celery extended document: 1.00-1.03 µs
        // a document before and after this change; one holding NaN reads in ~3.6 µs).
        return record.State == TaskStates.Unreadable && record.Problem?.Field == "document" && PythonJsonLiterals.Mask(document.Span) is { } masked
            ? Decode(taskId, document, masked)
            : record;
    }

    /// <summary>Reads the document's structure from <paramref name="structure"/>, which has the same length and offsets as <paramref name="document"/>.</summary>
    private static TaskResult Decode(string taskId, ReadOnlyMemory<byte> document, ReadOnlySpan<byte> structure)
    {
        var read = new RecordReader(taskId);
        string? status = null, traceback = null, id = null, groupId = null, parentId = null, name = null, worker = null, queue = null;
        string? contentType = null, contentEncoding = null, dateDone = null;
        string? argsType = null, argsEncoding = null, kwargsType = null, kwargsEncoding = null;
        int? retries = null;
        long? expiresAtMs = null;
        Range? result = null, args = null, kwargs = null, children = null;
        var bytes = document.Span;
        try
        {
            var reader = new Utf8JsonReader(structure);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return RecordReader.Unreadable(taskId, "document", $"a JSON {Kind(reader.TokenType)}, not a Celery task meta document (a JSON object)");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader;
                reader.Read();
                if (property.ValueTextEquals("status"u8)) { status = Text(ref reader, "status", read); }
                else if (property.ValueTextEquals("result"u8)) { result = Raw(ref reader); }
                else if (property.ValueTextEquals("traceback"u8)) { traceback = Text(ref reader, "traceback", read); }
                else if (property.ValueTextEquals("date_done"u8)) { dateDone = Text(ref reader, "date_done", read); }
                else if (property.ValueTextEquals("task_id"u8)) { id = Text(ref reader, "task_id", read); }
                else if (property.ValueTextEquals("children"u8)) { children = Raw(ref reader); }
                else if (property.ValueTextEquals("group_id"u8)) { groupId = Text(ref reader, "group_id", read); }
                else if (property.ValueTextEquals("parent_id"u8)) { parentId = Text(ref reader, "parent_id", read); }
                else if (property.ValueTextEquals("name"u8)) { name = Text(ref reader, "name", read); }
                else if (property.ValueTextEquals("args"u8)) { args = Raw(ref reader); }
                else if (property.ValueTextEquals("kwargs"u8)) { kwargs = Raw(ref reader); }
                else if (property.ValueTextEquals("worker"u8)) { worker = Text(ref reader, "worker", read); }
                else if (property.ValueTextEquals("retries"u8)) { retries = Int32(ref reader, "retries", read); }
                else if (property.ValueTextEquals("queue"u8)) { queue = Text(ref reader, "queue", read); }
                else if (property.ValueTextEquals("rg_content_type"u8)) { contentType = Text(ref reader, "rg_content_type", read); }
                else if (property.ValueTextEquals("rg_content_encoding"u8)) { contentEncoding = Text(ref reader, "rg_content_encoding", read); }
                else if (property.ValueTextEquals("rg_args_content_type"u8)) { argsType = Text(ref reader, "rg_args_content_type", read); }
                else if (property.ValueTextEquals("rg_args_content_encoding"u8)) { argsEncoding = Text(ref reader, "rg_args_content_encoding", read); }
                else if (property.ValueTextEquals("rg_kwargs_content_type"u8)) { kwargsType = Text(ref reader, "rg_kwargs_content_type", read); }
                else if (property.ValueTextEquals("rg_kwargs_content_encoding"u8)) { kwargsEncoding = Text(ref reader, "rg_kwargs_content_encoding", read); }
                else if (property.ValueTextEquals("rg_expires_at_ms"u8)) { expiresAtMs = Int64(ref reader, "rg_expires_at_ms", read); }
                else { reader.Skip(); }
            }
        }
        catch (JsonException ex)
        {
            return RecordReader.Unreadable(taskId, "document", $"not valid JSON: {ex.Message}");
        }

        string state;
        if (status is null)
        {
            if (!read.HasProblem)
            {
                read.Fail("status", "missing: a Celery task meta document has a \"status\" string");
            }

            state = TaskStates.Unreadable;
        }
        else if (RecordReader.StateProblem(status) is { } bad)
        {
            read.Fail("status", bad);
            state = TaskStates.Unreadable;
        }
        else
        {
            state = status;
        }

        // Decoded field by field, each failure that field's alone; try blocks inline rather than
        // lambdas, which would allocate a closure per field of every document of a join.
        ResultPayload? payload = null, argsPayload = null, kwargsPayload = null;
        DateTimeOffset? done = null, expiresAt = null;
        string[]? childIds = null;
        if (result is { } r)
        {
            try
            {
                payload = contentType is null ? Json(bytes[r]) : new ResultPayload { Data = Base64(bytes[r]), ContentType = contentType, ContentEncoding = contentEncoding };
            }
            catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
            {
                read.Fail("result", $"not a base64 string: {ex.Message}");
            }
        }

        if (dateDone is not null)
        {
            try
            {
                done = ParseDate(dateDone);
            }
            catch (FormatException)
            {
                read.Fail("date_done", $"{RecordReader.Excerpt(dateDone)} is not a date");
            }
        }

        if (children is { } c)
        {
            try
            {
                childIds = Children(document[c]);
            }
            catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
            {
                read.Fail("children", $"not a list of task ids: {ex.Message}");
            }
        }

        if (args is { } a)
        {
            try
            {
                argsPayload = Argument(bytes[a], argsType, argsEncoding);
            }
            catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
            {
                read.Fail("args", $"not a base64 string: {ex.Message}");
            }
        }

        if (kwargs is { } k)
        {
            try
            {
                kwargsPayload = Argument(bytes[k], kwargsType, kwargsEncoding);
            }
            catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
            {
                read.Fail("kwargs", $"not a base64 string: {ex.Message}");
            }
        }

        if (expiresAtMs is { } at)
        {
            try
            {
                expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(at);
            }
            catch (ArgumentOutOfRangeException)
            {
                read.Fail("rg_expires_at_ms", $"{at} is not a time in milliseconds since 1970");
            }
        }

        var record = new TaskResult
        {
            TaskId = id ?? taskId,
            State = state,
            Payload = payload,
            Traceback = traceback,
            DateDone = done,
            Children = childIds,
            GroupId = groupId,
            ParentId = parentId,
            Name = name,
            Args = argsPayload,
            Kwargs = kwargsPayload,
            Worker = worker,
            Retries = retries,
            Queue = queue,
            ExpiresAt = expiresAt,
        };
        return read.Finish(record);
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "list",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.None => "nothing (an empty value)",
        _ => token.ToString().ToLowerInvariant(),
    };

    /// <summary>A string value, or null for JSON null; any other kind is the field's problem (and null).</summary>
    private static string? Text(ref Utf8JsonReader reader, string field, RecordReader read)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Null:
                return null;
            default:
                read.Fail(field, $"a JSON {Kind(reader.TokenType)} where a string belongs");
                reader.Skip();
                return null;
        }
    }

    private static int? Int32(ref Utf8JsonReader reader, string field, RecordReader read) =>
        (int?)WholeNumber(ref reader, field, read, int.MinValue, int.MaxValue, "a number that is not a whole 32-bit number");

    private static long? Int64(ref Utf8JsonReader reader, string field, RecordReader read) =>
        WholeNumber(ref reader, field, read, long.MinValue, long.MaxValue, "a JSON number where a whole number belongs");

    /// <summary>
    /// A whole number from <paramref name="min"/> to <paramref name="max"/>, or null for JSON null;
    /// any other value is the field's problem (and null): a number outside them or with a fraction
    /// is <paramref name="notWhole"/>, another kind of value is named.
    /// </summary>
    private static long? WholeNumber(ref Utf8JsonReader reader, string field, RecordReader read, long min, long max, string notWhole)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) && n >= min && n <= max)
        {
            return n;
        }

        read.Fail(field, reader.TokenType == JsonTokenType.Number ? notWhole : $"a JSON {Kind(reader.TokenType)} where a whole number belongs");
        reader.Skip();
        return null;
    }

    /// <summary>Where the current value lies in the document (null for JSON null), leaving the reader at its end.</summary>
    private static Range? Raw(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return start..(int)reader.BytesConsumed;
    }

    private static byte[] Base64(ReadOnlySpan<byte> quoted)
    {
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        return reader.TokenType == JsonTokenType.String
            ? reader.GetBytesFromBase64()
            : throw new FormatException($"an rg_ content type is set but the value is a JSON {Kind(reader.TokenType)}");
    }

    private static ResultPayload Argument(ReadOnlySpan<byte> raw, string? contentType, string? contentEncoding) =>
        contentType is null ? Json(raw) : new ResultPayload { Data = Base64(raw), ContentType = contentType, ContentEncoding = contentEncoding };

    private static ResultPayload Json(ReadOnlySpan<byte> raw) => new()
    {
        Data = raw.ToArray(),
        ContentType = "application/json",
        ContentEncoding = "utf-8",
    };
}
