using System.Security.Cryptography;
using System.Text;

namespace ResultGrid.Storage.Migration;

/// <summary>
/// A result's checksum for the verify pass: SHA-256 over every field a backend keeps, in a form
/// that does not depend on how the backend writes it (JSON's "utf-8" label, empty children,
/// sub-microsecond dates). The expiry is compared apart, within a tolerance, since it is an
/// instant each backend rounds its own way.
/// </summary>
public static class RecordDigest
{
    public static string Of(TaskResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var canonical = new StringBuilder(256);
        foreach (var (_, value) in Fields(result))
        {
            // Length-prefixed, so that no two field lists encode alike.
            canonical.Append(value is null ? "-1" : value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(':').Append(value).Append('|');
        }

        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    /// <summary>The names of the fields that differ (expiry apart); empty when the records match.</summary>
    public static IReadOnlyList<string> Differences(TaskResult a, TaskResult b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Fields(a).Zip(Fields(b)).Where(p => p.First.Value != p.Second.Value).Select(p => p.First.Name).ToArray();
    }

    private static IEnumerable<(string Name, string? Value)> Fields(TaskResult r)
    {
        yield return ("task_id", r.TaskId);
        yield return ("state", r.State);
        foreach (var field in Payload("result", r.Payload))
        {
            yield return field;
        }

        yield return ("traceback", r.Traceback);
        yield return ("date_done", r.DateDone is { } done ? (done.UtcTicks / 10).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        yield return ("children", r.Children is { Length: > 0 } children ? string.Join('\n', children) : null);
        yield return ("group_id", r.GroupId);
        yield return ("parent_id", r.ParentId);
        yield return ("name", r.Name);
        foreach (var field in Payload("args", r.Args).Concat(Payload("kwargs", r.Kwargs)))
        {
            yield return field;
        }

        yield return ("worker", r.Worker);
        yield return ("retries", r.Retries?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return ("queue", r.Queue);
    }

    private static IEnumerable<(string, string?)> Payload(string name, ResultPayload? payload)
    {
        // A JSON null is no value: Redis keeps both as "result": null, which reads back as none.
        if (payload is not null && IsJsonNull(payload))
        {
            payload = null;
        }

        yield return (name, payload is null ? null : Convert.ToBase64String(payload.Data));
        yield return (name + " content type", payload?.ContentType.ToLowerInvariant());
        yield return (name + " content encoding", payload is null ? null : Encoding(payload));
    }

    private static bool IsJsonNull(ResultPayload payload) =>
        payload.ContentType.Equals("application/json", StringComparison.OrdinalIgnoreCase) &&
        payload.ContentEncoding is null or "utf8" or "utf-8" &&
        payload.Data.AsSpan().Trim(" \t\r\n"u8).SequenceEqual("null"u8);

    // JSON is UTF-8 by definition: no label, "utf8" and "utf-8" all say the same.
    private static string? Encoding(ResultPayload payload)
    {
        var encoding = payload.ContentEncoding?.ToLowerInvariant();
        return payload.ContentType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && encoding is null or "utf8" or "utf-8"
            ? "utf-8"
            : encoding;
    }

    /// <summary>A group's checksum: its id, children in order, date and chord.</summary>
    public static string Of(GroupMeta group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var text = string.Join('\n', group.TaskIds) + "|" + group.GroupId + "|" + (group.DateDone is { } d ? d.UtcTicks / 10 : -1) + "|" + group.Chord?.ToJson();
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }
}
