namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// The grain state each record is kept in: one encoded document (<see cref="StoredDocument"/>),
/// nothing else. A plain sealed class with a public parameterless constructor and one settable
/// byte array, so every grain storage serializer can write it: Orleans' own serializer (the
/// generated codec), the JSON serializers (Newtonsoft, the ADO.NET and Redis providers'
/// default, writes the array as base64; System.Text.Json likewise). What a record means is
/// decoded from the document by this assembly, never from a type name the storage recorded.
/// </summary>
[GenerateSerializer, Alias("ResultGrid.Storage.GrainStorage.GrainStorageRecord")]
public sealed class GrainStorageRecord
{
    /// <summary>The encoded result, group or claim; null in a state that was never written.</summary>
    [Id(0)] public byte[]? Document { get; set; }
}
