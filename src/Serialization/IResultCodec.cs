namespace ResultGrid.Serialization;

/// <summary>
/// Turns values into bytes and back for one content type. A codec must never load a type named
/// by the stored data (no BinaryFormatter, no <c>$type</c> polymorphism): the type to produce is
/// always the caller's <c>T</c>, so a stored document cannot make a reader run code.
/// </summary>
public interface IResultCodec
{
    /// <summary>The content type written with each payload, e.g. <c>application/json</c>.</summary>
    string ContentType { get; }

    /// <summary>Short names accepted in configuration, e.g. <c>json</c>.</summary>
    IReadOnlyList<string> Aliases { get; }

    /// <summary>The content encoding recorded with payloads this codec writes (<c>utf-8</c> or <c>binary</c>).</summary>
    string ContentEncoding { get; }

    byte[] Encode<T>(T value);

    T? Decode<T>(ReadOnlyMemory<byte> data);
}
