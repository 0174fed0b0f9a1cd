using System.Text.Json;

namespace ResultGrid.Serialization;

/// <summary>
/// System.Text.Json, the default codec, reading and writing what Python's <c>json</c> module
/// (Celery's JSON serializer) reads and writes. Polymorphic type handling stays off: only the
/// caller's type is ever produced.
/// </summary>
/// <remarks>
/// Python's JSON is wider than RFC 8259 in two ways, both handled here:
/// <list type="bullet">
/// <item>non-finite floats are the bare literals <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>:
/// written bare for double, float and Half (anywhere in the value), and read into those types; read
/// as <c>object</c>, <see cref="JsonElement"/> or a JSON node, where RFC JSON has no such token,
/// they are the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (System.Text.Json's
/// own convention for named literals, which a typed read of that element with <see cref="Options"/>
/// turns back into the double);</item>
/// <item>integers have any size: <see cref="System.Numerics.BigInteger"/> (and Int128/UInt128) are
/// written as JSON numbers and read back exact; as <c>object</c> or JsonElement the number keeps all
/// its digits (<c>GetRawText()</c>), and reading one too large for long into long is an error, never
/// a rounded value.</item>
/// </list>
/// Types whose properties are not their value (System.Numerics other than BigInteger, streams,
/// tasks...) are refused when written; see <c>PythonJsonConverters.RefusedTypeConverterFactory</c>.
/// </remarks>
public sealed class JsonResultCodec : IResultCodec
{
    public const string MediaType = "application/json";

    private static readonly string[] AliasNames = ["json"];

    public JsonResultCodec(JsonSerializerOptions? options = null)
    {
        // A copy: the caller's options may be shared (or already frozen by use) elsewhere.
        Options = options is null ? new JsonSerializerOptions(JsonSerializerDefaults.General) : new JsonSerializerOptions(options);
        PythonJsonConverters.AddTo(Options.Converters);
    }

    public JsonSerializerOptions Options { get; }

    public string ContentType => MediaType;

    public IReadOnlyList<string> Aliases => AliasNames;

    public string ContentEncoding => "utf-8";

    public byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>
    /// Decodes strictly first; only bytes the strict read refused and that hold a bare named
    /// literal are read again, with the literals quoted: the common path pays nothing.
    /// </summary>
    public T? Decode<T>(ReadOnlyMemory<byte> data)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(data.Span, Options);
        }
        catch (JsonException) when (PythonJsonLiterals.Quote(data.Span) is { } quoted)
        {
            return JsonSerializer.Deserialize<T>(quoted, Options);
        }
    }
}

/// <summary>Raw bytes, stored as they are: for results that already are a file, an image, a blob.</summary>
internal sealed class RawBytesCodec : IResultCodec
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
