using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace ResultGrid.Serialization;

/// <summary>
/// Encodes values into payloads and decodes payloads back, enforcing the accept-content
/// whitelist on read. The one place a payload's bytes are interpreted, for clients and grains.
/// </summary>
public sealed class ResultSerializer
{
    private static readonly HashSet<string> TextEncodings = new(StringComparer.OrdinalIgnoreCase) { "utf-8", "utf8", "binary" };

    private readonly CodecRegistry _registry;
    private readonly IResultCodec _writeCodec;
    private readonly HashSet<string> _accepted = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _acceptedText;
    private readonly string _compression;
    private readonly int _compressionLevel;
    private readonly int _compressionThreshold;
    private readonly long _maxDecompressedBytes;

    public ResultSerializer(IOptions<ResultSerializationOptions> options)
        : this(options.Value)
    {
    }

    public ResultSerializer(ResultSerializationOptions options)
    {
        var validation = new ResultSerializationOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(ResultSerializationOptions), typeof(ResultSerializationOptions), validation.Failures);
        }

        _registry = new CodecRegistry(options);
        _writeCodec = _registry.Find(options.Serializer)!;
        foreach (var name in options.EffectiveAcceptContent)
        {
            _accepted.Add(_registry.Find(name)!.ContentType);
        }

        _acceptedText = string.Join(", ", _accepted.Order(StringComparer.Ordinal));
        _compression = ResultCompression.Normalize(options.Compression)!;
        _compressionLevel = options.CompressionLevel;
        _compressionThreshold = options.CompressionThreshold;
        _maxDecompressedBytes = options.MaxDecompressedBytes;
    }

    /// <summary>The content types this process accepts, for messages.</summary>
    public string AcceptedContentTypes => _acceptedText;

    /// <summary>True when results of <paramref name="contentType"/> may be written and read here.</summary>
    public bool Accepts(string contentType) => _accepted.Contains(contentType);

    /// <summary>The content type new results are written with.</summary>
    public string ContentType => _writeCodec.ContentType;

    /// <summary>
    /// Encodes a value with the configured codec (or <paramref name="serializer"/>), then
    /// compresses it with the configured compression (or <paramref name="compression"/>) when
    /// it reaches the threshold and compressing makes it smaller. A codec outside the
    /// accept-content list is refused: what this process could not read back, it does not write.
    /// </summary>
    /// <exception cref="ResultEncodeException">The codec cannot represent the value faithfully (the message names its type).</exception>
    public ResultPayload Serialize<T>(T value, string? serializer = null, string? compression = null) =>
        Encode(null, "result", value, serializer, compression);

    /// <summary>
    /// <see cref="Serialize{T}(T, string?, string?)"/> for one task's stored field (<c>result</c>,
    /// <c>meta</c>, <c>args</c>...): a value the codec refuses is an error naming that task, field and type.
    /// </summary>
    /// <exception cref="ResultEncodeException">The codec cannot represent the value faithfully.</exception>
    public ResultPayload SerializeFor<T>(string taskId, string field, T value, string? serializer = null, string? compression = null) =>
        Encode(taskId, field, value, serializer, compression);

    private ResultPayload Encode<T>(string? taskId, string field, T value, string? serializer, string? compression)
    {
        var codec = serializer is null ? _writeCodec : _registry.Find(serializer)
            ?? throw new ArgumentException($"Unknown serializer '{serializer}'; known: {_registry.Describe()}.", nameof(serializer));
        if (!_accepted.Contains(codec.ContentType))
        {
            throw new ContentTypeNotAcceptedException(
                $"Serializer '{(codec.Aliases.Count > 0 ? codec.Aliases[0] : codec.ContentType)}' writes {codec.ContentType}, which is not in the accepted content types ({_acceptedText}); " +
                "add it to ResultGrid:Serialization:AcceptContent or choose an accepted serializer.");
        }

        var encoding = compression is null ? _compression : ResultCompression.Normalize(compression)
            ?? throw new ArgumentException($"Unknown compression '{compression}'; allowed: {ResultCompression.Allowed}.", nameof(compression));
        byte[] data;
        try
        {
            data = codec.Encode(value);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException or ArgumentException or MessagePack.MessagePackSerializationException)
        {
            // Whatever the codec's own words, the error says which task, which field and which type.
            throw new ResultEncodeException(taskId, field, value?.GetType() ?? typeof(T), codec.ContentType, ex);
        }

        if (encoding.Length > 0 && data.Length >= _compressionThreshold)
        {
            var compressed = ResultCompression.Compress(encoding, data, _compressionLevel);
            if (compressed.Length < data.Length)
            {
                return new ResultPayload { Data = compressed, ContentType = codec.ContentType, ContentEncoding = encoding };
            }
        }

        return new ResultPayload { Data = data, ContentType = codec.ContentType, ContentEncoding = codec.ContentEncoding };
    }

    /// <summary>
    /// Decodes a stored payload as <typeparamref name="T"/>. A content type outside the whitelist,
    /// an unknown encoding or undecodable bytes raise an error about this result only.
    /// </summary>
    /// <param name="taskId">The task the payload belongs to, named in every error.</param>
    /// <param name="payload">The stored payload.</param>
    /// <param name="field">The stored field the payload is, named in the error: <c>result</c>, or <c>meta</c> for a custom state's meta.</param>
    public T? Deserialize<T>(string taskId, ResultPayload payload, string field = "result")
    {
        var codec = CodecFor(taskId, payload);
        try
        {
            var data = ResultCompression.IsKnownEncoding(payload.ContentEncoding)
                ? ResultCompression.Decompress(payload.ContentEncoding!, payload.Data, _maxDecompressedBytes)
                : payload.Data;
            return codec.Decode<T>(data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidCastException or NotSupportedException or FormatException or ArgumentException or DecoderFallbackException or InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new ResultDecodeException(
                taskId,
                field,
                $"The {field} of task '{taskId}' (field '{field}': {payload.ContentType}, {payload.Data.Length} bytes) could not be decoded as {typeof(T).Name}: {ex.Message}",
                ex);
        }
    }

    /// <summary>
    /// The stored bytes with any compression undone (bounded like every decode), without decoding
    /// them: for readers that pass a value on as it is (the HTTP API hands JSON on as JSON).
    /// </summary>
    /// <exception cref="ResultDecodeException">An encoding this reader cannot undo, or bytes that do not decompress.</exception>
    public byte[] Uncompressed(string taskId, ResultPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (!ResultCompression.IsKnownEncoding(payload.ContentEncoding))
        {
            return payload.ContentEncoding is null || TextEncodings.Contains(payload.ContentEncoding)
                ? payload.Data
                : throw new ResultDecodeException(taskId, "content_encoding", $"The result of task '{taskId}' has content encoding '{payload.ContentEncoding}' (field 'content_encoding'), which this reader cannot undo; known encodings: utf-8, binary, gzip, br, zstd.");
        }

        try
        {
            return ResultCompression.Decompress(payload.ContentEncoding!, payload.Data, _maxDecompressedBytes);
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new ResultDecodeException(taskId, "result", $"The result of task '{taskId}' ({payload.ContentEncoding}, {payload.Data.Length} bytes) could not be decompressed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The values of several results as one JSON list (a chord body's arguments), each JSON value
    /// passed on as its bytes are, so what Python's json wrote (bare NaN, integers of any size)
    /// reaches the reader as it was; a value of another codec is decoded as JSON, as it always
    /// was (its error is that value's), and a missing one is null.
    /// </summary>
    /// <exception cref="ResultDecodeException">A value that is not JSON and cannot be decoded as JSON.</exception>
    /// <exception cref="ContentTypeNotAcceptedException">A value whose content type this process does not accept.</exception>
    public ResultPayload JsonList(IEnumerable<(string TaskId, ResultPayload? Payload)> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (taskId, payload) in values)
            {
                if (payload is null)
                {
                    writer.WriteNullValue();
                    continue;
                }

                if (string.Equals(CodecFor(taskId, payload).ContentType, JsonResultCodec.MediaType, StringComparison.OrdinalIgnoreCase)
                    && Uncompressed(taskId, payload) is var json && IsJsonValue(json))
                {
                    writer.WriteRawValue(json, skipInputValidation: true);
                }
                else
                {
                    Deserialize<JsonElement>(taskId, payload).WriteTo(writer);
                }
            }

            writer.WriteEndArray();
        }

        return new ResultPayload { Data = buffer.WrittenSpan.ToArray(), ContentType = JsonResultCodec.MediaType, ContentEncoding = "utf-8" };
    }

    /// <summary>One JSON value, RFC 8259 or Python's (with the named float literals).</summary>
    private static bool IsJsonValue(byte[] json)
    {
        return Valid(json) || (PythonJsonLiterals.Quote(json) is { } quoted && Valid(quoted));

        static bool Valid(byte[] bytes)
        {
            try
            {
                var reader = new Utf8JsonReader(bytes);
                if (!reader.Read())
                {
                    return false;
                }

                reader.Skip();
                return !reader.Read();
            }
            catch (JsonException)
            {
                return false;
            }
        }
    }

    private IResultCodec CodecFor(string taskId, ResultPayload payload)
    {
        if (!_accepted.Contains(payload.ContentType))
        {
            throw new ContentTypeNotAcceptedException(taskId, payload.ContentType, _acceptedText);
        }

        if (payload.ContentEncoding is { } encoding && !TextEncodings.Contains(encoding) && !ResultCompression.IsKnownEncoding(encoding))
        {
            throw new ResultDecodeException(
                taskId,
                "content_encoding",
                $"The result of task '{taskId}' has content encoding '{encoding}' (field 'content_encoding'), which this reader cannot undo; known encodings: utf-8, binary, gzip, br, zstd.");
        }

        return _registry.Find(payload.ContentType)
            ?? throw new ContentTypeNotAcceptedException(taskId, payload.ContentType, _acceptedText);
    }

    /// <summary>
    /// The failure document Celery writes with JSON: exc_type, exc_message (a list), exc_module.
    /// Always JSON, whatever the value codec, so that every reader (Celery included) can read why.
    /// </summary>
    public static ResultPayload SerializeFailure(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var type = exception.GetType();
        return SerializeFailure(type.Name, type.Namespace, [exception.Message]);
    }

    /// <summary>A failure document from its parts; <paramref name="arguments"/> become <c>exc_message</c>.</summary>
    public static ResultPayload SerializeFailure(string exceptionType, string? exceptionModule, IEnumerable<string> arguments)
    {
        var doc = new JsonObject
        {
            ["exc_type"] = exceptionType,
            ["exc_message"] = new JsonArray(arguments.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
            ["exc_module"] = exceptionModule,
        };
        return new ResultPayload
        {
            Data = JsonSerializer.SerializeToUtf8Bytes(doc),
            ContentType = JsonResultCodec.MediaType,
            ContentEncoding = "utf-8",
        };
    }

    /// <summary>
    /// Reads the failure of a FAILURE, RETRY or REVOKED result. The remote type stays a name: no
    /// type is loaded. A document that is not Celery's shape still yields a failure carrying its
    /// text, so a reader always learns something.
    /// </summary>
    public TaskFailure ReadFailure(TaskResult result)
    {
        if (result.Payload is null)
        {
            return new TaskFailure { ExceptionType = "UnknownError", Message = $"Task ended in {result.State} with no exception stored.", Traceback = result.Traceback };
        }

        // The exception document is read by a fixed JSON parser that never loads a type, so it is
        // not subject to accept-content (which guards value codecs).
        if (!string.Equals(result.Payload.ContentType, JsonResultCodec.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return new TaskFailure
            {
                ExceptionType = "UnknownError",
                Message = $"Task ended in {result.State}; its exception is stored as {result.Payload.ContentType}, which is not Celery's JSON exception document.",
                Traceback = result.Traceback,
            };
        }

        try
        {
            var data = ResultCompression.IsKnownEncoding(result.Payload.ContentEncoding)
                ? ResultCompression.Decompress(result.Payload.ContentEncoding!, result.Payload.Data, _maxDecompressedBytes)
                : result.Payload.Data;
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new TaskFailure { ExceptionType = "UnknownError", Message = root.GetRawText(), Traceback = result.Traceback };
            }

            var type = root.TryGetProperty("exc_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "UnknownError";
            var module = root.TryGetProperty("exc_module", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            string message;
            string? argumentsJson = null;
            if (root.TryGetProperty("exc_message", out var msg))
            {
                argumentsJson = msg.GetRawText();
                message = msg.ValueKind switch
                {
                    JsonValueKind.String => msg.GetString()!,
                    JsonValueKind.Array when msg.GetArrayLength() == 1 && msg[0].ValueKind == JsonValueKind.String => msg[0].GetString()!,
                    JsonValueKind.Array when msg.GetArrayLength() == 0 => string.Empty,
                    _ => argumentsJson,
                };
            }
            else
            {
                message = root.GetRawText();
            }

            return new TaskFailure
            {
                ExceptionType = type,
                ExceptionModule = module,
                Message = message,
                ArgumentsJson = argumentsJson,
                Traceback = result.Traceback,
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new ResultDecodeException(result.TaskId, "result", $"The exception stored for task '{result.TaskId}' (field 'result') could not be read: {ex.Message}", ex);
        }
    }
}
