using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// A result as Celery's Redis backend stores it: <c>{"status", "result", "traceback",
/// "children", "date_done", "task_id", ...}</c> with the result as a JSON value, so a Python
/// Celery client reads what .NET wrote and the reverse. What Celery has no field for (a
/// payload that is not JSON, the expiry instant) goes in <c>rg_</c> fields Celery ignores.
/// </summary>
internal static class CeleryDocument
{
    // Celery writes naive UTC timestamps with microseconds: 2026-11-24T10:16:23.442966.
    private const string DateFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff";

    public static byte[] Encode(TaskResult result)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (result.Payload?.Data.Length ?? 0) * 4 / 3);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", result.State);
            string? contentType = null;
            string? contentEncoding = null;
            json.WritePropertyName("result");
            if (!WriteJsonValue(json, result.Payload))
            {
                contentType = result.Payload!.ContentType;
                contentEncoding = result.Payload.ContentEncoding;
                json.WriteBase64StringValue(result.Payload.Data);
            }

            WriteNullableString(json, "traceback", result.Traceback);
            json.WritePropertyName("children");
            if (result.Children is { Length: > 0 } children)
            {
                // Celery's form of a child: ((id, parent), children) as nested lists.
                json.WriteStartArray();
                foreach (var child in children)
                {
                    WriteResultTuple(json, child);
                }

                json.WriteEndArray();
            }
            else
            {
                json.WriteStartArray();
                json.WriteEndArray();
            }

            if (result.DateDone is { } done)
            {
                json.WriteString("date_done", done.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture));
            }
            else
            {
                json.WriteNull("date_done");
            }

            json.WriteString("task_id", result.TaskId);
            WriteIfSet(json, "group_id", result.GroupId);
            WriteIfSet(json, "parent_id", result.ParentId);
            WriteIfSet(json, "name", result.Name);
            var argsBinary = WriteArgument(json, "args", result.Args);
            var kwargsBinary = WriteArgument(json, "kwargs", result.Kwargs);

            WriteIfSet(json, "worker", result.Worker);
            if (result.Retries is { } retries)
            {
                json.WriteNumber("retries", retries);
            }

            WriteIfSet(json, "queue", result.Queue);
            if (contentType is not null)
            {
                json.WriteString("rg_content_type", contentType);
                WriteIfSet(json, "rg_content_encoding", contentEncoding);
            }

            if (argsBinary)
            {
                json.WriteString("rg_args_content_type", result.Args!.ContentType);
                WriteIfSet(json, "rg_args_content_encoding", result.Args.ContentEncoding);
            }

            if (kwargsBinary)
            {
                json.WriteString("rg_kwargs_content_type", result.Kwargs!.ContentType);
                WriteIfSet(json, "rg_kwargs_content_encoding", result.Kwargs.ContentEncoding);
            }

            if (result.ExpiresAt is { } expires)
            {
                json.WriteNumber("rg_expires_at_ms", expires.ToUnixTimeMilliseconds());
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Args or kwargs: a JSON value when they are JSON (what Celery reads), otherwise base64 with
    /// their content type in an <c>rg_</c> field, so that no codec's arguments are lost. True
    /// for the base64 form.
    /// </summary>
    private static bool WriteArgument(Utf8JsonWriter json, string name, ResultPayload? value)
    {
        if (value is null)
        {
            return false;
        }

        json.WritePropertyName(name);
        if (WriteJsonValue(json, value))
        {
            return false;
        }

        json.WriteBase64StringValue(value.Data);
        return true;
    }

    /// <summary>Celery's AsyncResult.as_tuple() of a result with no parent: <c>[[id, null], null]</c>.</summary>
    private static void WriteResultTuple(Utf8JsonWriter json, string taskId)
    {
        json.WriteStartArray();
        json.WriteStartArray();
        json.WriteStringValue(taskId);
        json.WriteNullValue();
        json.WriteEndArray();
        json.WriteNullValue();
        json.WriteEndArray();
    }

    /// <summary>Writes a JSON payload as a JSON value; false (and nothing written) for anything else.</summary>
    private static bool WriteJsonValue(Utf8JsonWriter json, ResultPayload? payload)
    {
        if (payload is null)
        {
            json.WriteNullValue();
            return true;
        }

        if (!string.Equals(payload.ContentType, "application/json", StringComparison.OrdinalIgnoreCase) ||
            payload.ContentEncoding is { } e && !e.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !e.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Bytes labelled JSON that are not valid JSON are kept as they are (base64), never lost.
        var reader = new Utf8JsonReader(payload.Data);
        try
        {
            if (!JsonDocument.TryParseValue(ref reader, out var doc))
            {
                return false;
            }

            doc.Dispose();
        }
        catch (JsonException)
        {
            return false;
        }

        json.WriteRawValue(payload.Data, skipInputValidation: true);
        return true;
    }

    private static void WriteNullableString(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>
    /// A group as Celery saves it: <c>{"result": [[gid, null], [[[child, null], null], ...]]}</c>,
    /// GroupResult.as_tuple() in JSON, which Celery's GroupResult.restore() reads.
    /// </summary>
    public static byte[] EncodeGroup(GroupMeta group)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + group.TaskIds.Length * 48);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WritePropertyName("result");
            json.WriteStartArray();
            json.WriteStartArray();
            json.WriteStringValue(group.GroupId);
            json.WriteNullValue();
            json.WriteEndArray();
            json.WriteStartArray();
            foreach (var child in group.TaskIds)
            {
                WriteResultTuple(json, child);
            }

            json.WriteEndArray();
            json.WriteEndArray();
            if (group.DateDone is { } done)
            {
                json.WriteString("date_done", done.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture));
            }

            if (group.ExpiresAt is { } expires)
            {
                json.WriteNumber("rg_expires_at_ms", expires.ToUnixTimeMilliseconds());
            }

            if (group.Chord is { } chord)
            {
                // Celery ignores fields it does not know, so the document stays restorable by it.
                json.WriteString("rg_chord", chord.ToJson());
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a group saved by ResultGrid or by Celery.</summary>
    public static GroupMeta DecodeGroup(string groupId, ReadOnlyMemory<byte> document)
    {
        try
        {
            using var doc = JsonDocument.Parse(document);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("result", out var result) ||
                result.ValueKind != JsonValueKind.Array || result.GetArrayLength() < 2 || result[1].ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"The stored group '{groupId}' is not Celery's taskset meta ({{\"result\": [[id, parent], [children]]}}).");
            }

            var ids = new List<string>();
            foreach (var child in result[1].EnumerateArray())
            {
                // A child is ((id, parent), children), or (id, parent) in older documents.
                var head = child.ValueKind == JsonValueKind.Array && child.GetArrayLength() > 0 ? child[0] : child;
                var id = head.ValueKind == JsonValueKind.Array && head.GetArrayLength() > 0 ? head[0] : head;
                if (id.ValueKind == JsonValueKind.String)
                {
                    ids.Add(id.GetString()!);
                }
            }

            return new GroupMeta
            {
                GroupId = result[0].ValueKind == JsonValueKind.Array && result[0].GetArrayLength() > 0 && result[0][0].ValueKind == JsonValueKind.String
                    ? result[0][0].GetString()!
                    : groupId,
                TaskIds = ids.ToArray(),
                DateDone = String(root, "date_done") is { } done ? ParseDate(done) : null,
                ExpiresAt = root.TryGetProperty("rg_expires_at_ms", out var x) && x.ValueKind == JsonValueKind.Number
                    ? DateTimeOffset.FromUnixTimeMilliseconds(x.GetInt64())
                    : null,
                Chord = String(root, "rg_chord") is { } chord ? ChordBody.FromJson(chord) : null,
            };
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The stored group '{groupId}' is not valid JSON: {ex.Message}", ex);
        }
    }

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
            var reader = new Utf8JsonReader(bytes);
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

    private static int? Int32(ref Utf8JsonReader reader, string field, RecordReader read)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n))
        {
            return n;
        }

        read.Fail(field, reader.TokenType == JsonTokenType.Number ? "a number that is not a whole 32-bit number" : $"a JSON {Kind(reader.TokenType)} where a whole number belongs");
        reader.Skip();
        return null;
    }

    private static long? Int64(ref Utf8JsonReader reader, string field, RecordReader read)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n))
        {
            return n;
        }

        read.Fail(field, $"a JSON {Kind(reader.TokenType)} where a whole number belongs");
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

    private static string[]? Children(ReadOnlyMemory<byte> raw)
    {
        using var doc = JsonDocument.Parse(raw);
        return doc.RootElement.ValueKind == JsonValueKind.Array
            ? Children(doc.RootElement)
            : throw new FormatException($"a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()} where Celery's list of children belongs");
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // Celery writes isoformat(): microseconds and no offset (ResultGrid's form), or other ISO forms.
    private static DateTimeOffset ParseDate(string text) =>
        DateTimeOffset.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact)
            ? exact
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>Children as ids, from Celery's ((id, parent), children) lists or from plain strings.</summary>
    private static string[]? Children(JsonElement children)
    {
        if (children.ValueKind != JsonValueKind.Array || children.GetArrayLength() == 0)
        {
            return null;
        }

        var ids = new List<string>();
        foreach (var child in children.EnumerateArray())
        {
            var id = child.ValueKind switch
            {
                JsonValueKind.String => child.GetString(),
                JsonValueKind.Array when child.GetArrayLength() > 0 && child[0].ValueKind == JsonValueKind.Array && child[0].GetArrayLength() > 0 => child[0][0].GetString(),
                JsonValueKind.Array when child.GetArrayLength() > 0 && child[0].ValueKind == JsonValueKind.String => child[0].GetString(),
                _ => null,
            };
            if (id is not null)
            {
                ids.Add(id);
            }
        }

        return ids.ToArray();
    }
}
