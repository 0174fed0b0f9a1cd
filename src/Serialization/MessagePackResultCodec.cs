using System.Text.Json;
using MessagePack;
using MessagePack.Resolvers;

namespace ResultGrid.Serialization;

/// <summary>
/// MessagePack (<c>application/x-msgpack</c>): compact and fast for domain objects. Contractless,
/// so plain records and classes need no attributes; never the typeless resolver, which would
/// read a type name from the stored bytes and load it. Hardened for untrusted data (depth
/// limits, collision-resistant hashing).
/// </summary>
internal sealed class MessagePackResultCodec : IResultCodec
{
    public const string MediaType = "application/x-msgpack";

    private static readonly string[] AliasNames = ["msgpack", "messagepack"];

    private static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(ContractlessStandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    public string ContentType => MediaType;

    public IReadOnlyList<string> Aliases => AliasNames;

    public string ContentEncoding => "binary";

    public byte[] Encode<T>(T value) => MessagePackSerializer.Serialize(value, Options);

    public T? Decode<T>(ReadOnlyMemory<byte> data)
    {
        try
        {
            if (typeof(T) == typeof(JsonElement))
            {
                // Readers that hand a value on as JSON (the HTTP API, a chord body's arguments)
                // ask for a JsonElement. The contractless resolver would build an empty, undefined
                // one from a struct with no settable members, so the bytes are translated to JSON instead.
                using var document = JsonDocument.Parse(MessagePackSerializer.ConvertToJson(data, Options));
                return (T)(object)document.RootElement.Clone();
            }

            return MessagePackSerializer.Deserialize<T>(data, Options);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or JsonException)
        {
            // Surfaces as the serializer's decode error for this result only.
            throw new FormatException(ex.Message, ex);
        }
    }
}
