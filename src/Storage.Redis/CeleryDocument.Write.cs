using System.Buffers;
using System.Text.Json;

namespace ResultGrid.Storage.Redis;

/// <summary>Writing a task's document, in Celery's field order (<c>status</c> first, where the write script looks for it).</summary>
internal static partial class CeleryDocument
{
    public static byte[] Encode(TaskResult result)
    {
        // The buffer and writer are this thread's, reused: every write encodes one document, and
        // a fresh pair per document was a tenth of the Redis write path's allocations. Encoding
        // never awaits, so nothing else runs on the thread between the reset and the copy.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(buffer);
        json.Reset(buffer);
        try
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
                json.WriteString("date_done", FormatDate(done));
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
            json.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            // A large document's buffer is not kept for the thread's lifetime.
            if (buffer.Capacity > MaxKeptBuffer)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

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
        // Python's JSON (bare NaN, Infinity, -Infinity) is JSON to Celery: written as it is, so
        // that Celery reads the floats; checked with the literals quoted, only when strict fails.
        if (!IsOneJsonValue(payload.Data) && (PythonJsonLiterals.Quote(payload.Data) is not { } quoted || !IsOneJsonValue(quoted)))
        {
            return false;
        }

        json.WriteRawValue(payload.Data, skipInputValidation: true);
        return true;
    }

    private static bool IsOneJsonValue(byte[] data)
    {
        // Read and skipped, not parsed into a document (the same checks without its allocations),
        // then nothing but whitespace after it: "1 2" is not one value, and written raw it would
        // make the whole document unreadable.
        var reader = new Utf8JsonReader(data);
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
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
}
