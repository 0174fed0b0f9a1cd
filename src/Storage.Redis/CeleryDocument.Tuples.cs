using System.Buffers;
using System.Text.Json;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Celery's result tuples: a task's children (<c>((id, parent), children)</c> as nested lists) and
/// a group's taskset meta document, which is GroupResult.as_tuple() in JSON.
/// </summary>
internal static partial class CeleryDocument
{
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
                json.WriteString("date_done", FormatDate(done));
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

    private static string[]? Children(ReadOnlyMemory<byte> raw)
    {
        // Most documents have no children ("children": []): no parse, which would cost a
        // JsonDocument per document for the same null that an empty list gives below.
        var trimmed = raw.Span.Trim(" \t\r\n"u8);
        if (trimmed.Length >= 2 && trimmed[0] == (byte)'[' && trimmed[^1] == (byte)']' && trimmed[1..^1].Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(raw);
        return doc.RootElement.ValueKind == JsonValueKind.Array
            ? Children(doc.RootElement)
            : throw new FormatException($"a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()} where Celery's list of children belongs");
    }

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

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
