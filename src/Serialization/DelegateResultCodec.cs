namespace ResultGrid.Serialization;

/// <summary>
/// A codec made of two functions, like kombu's <c>register(name, encoder, decoder,
/// content_type)</c>. The decoder is handed the type the reader asked for: it must produce that
/// type and never one named by the data.
/// </summary>
public sealed class DelegateResultCodec(string name, string contentType, Func<object?, Type, byte[]> encode, Func<ReadOnlyMemory<byte>, Type, object?> decode, string contentEncoding = "binary") : IResultCodec
{
    public string ContentType { get; } = contentType;

    public IReadOnlyList<string> Aliases { get; } = [name];

    public string ContentEncoding { get; } = contentEncoding;

    public byte[] Encode<T>(T value) => encode(value, typeof(T));

    public T? Decode<T>(ReadOnlyMemory<byte> data) => (T?)decode(data, typeof(T));
}
