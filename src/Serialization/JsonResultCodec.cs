using System.Text.Json;

namespace ResultGrid.Serialization;

/// <summary>
/// System.Text.Json, the default codec, and the one Celery's JSON serializer reads. Polymorphic
/// type handling stays off: only the caller's type is ever produced.
/// </summary>
public sealed class JsonResultCodec : IResultCodec
{
    public const string MediaType = "application/json";

    private static readonly string[] AliasNames = ["json"];

    public JsonResultCodec(JsonSerializerOptions? options = null)
    {
        Options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.General);
    }

    public JsonSerializerOptions Options { get; }

    public string ContentType => MediaType;

    public IReadOnlyList<string> Aliases => AliasNames;

    public string ContentEncoding => "utf-8";

    public byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public T? Decode<T>(ReadOnlyMemory<byte> data) => JsonSerializer.Deserialize<T>(data.Span, Options);
}

/// <summary>Raw bytes, stored as they are: for results that already are a file, an image, a blob.</summary>
public sealed class RawBytesCodec : IResultCodec
{
    public const string MediaType = "application/octet-stream";

    private static readonly string[] AliasNames = ["raw", "bytes", "binary"];

    public string ContentType => MediaType;

    public IReadOnlyList<string> Aliases => AliasNames;

    public string ContentEncoding => "binary";

    public byte[] Encode<T>(T value) => value switch
    {
        // Copied: a stored payload is immutable, and the caller may reuse its buffer.
        byte[] bytes => bytes.AsSpan().ToArray(),
        ReadOnlyMemory<byte> memory => memory.ToArray(),
        Memory<byte> memory => memory.ToArray(),
        null => throw new ArgumentNullException(nameof(value), "The raw bytes codec cannot store null; store an empty array instead."),
        _ => throw new ArgumentException(
            $"The raw bytes codec ({MediaType}) stores byte[] or ReadOnlyMemory<byte>, not {typeof(T).Name}. Use the JSON codec for objects.",
            nameof(value)),
    };

    public T? Decode<T>(ReadOnlyMemory<byte> data)
    {
        // Each branch boxed on its own: a plain ternary would convert byte[] to ReadOnlyMemory<byte>.
        var result = typeof(T) == typeof(byte[]) ? (object)data.ToArray()
            : typeof(T) == typeof(ReadOnlyMemory<byte>) ? (object)data
            : typeof(T) == typeof(object) ? (object)data.ToArray()
            : throw new InvalidCastException($"A {MediaType} result decodes to byte[] or ReadOnlyMemory<byte>, not {typeof(T).Name}.");
        return (T)result;
    }
}
