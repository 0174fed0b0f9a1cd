using System.Security.Cryptography;
using System.Text;

namespace ResultGrid;

/// <summary>
/// A short fingerprint of everything a reader sees in a result (state, value, traceback, dates,
/// links, extended fields). Two reads with the same version show the same result; the HTTP
/// API's ETag and a watcher's "what I have seen" are both this, so a watch wakes exactly when
/// the answer to a read would change.
/// </summary>
public static class TaskResultVersion
{
    /// <summary>The version of <paramref name="result"/>: 16 hex digits.</summary>
    public static string Of(TaskResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, result.TaskId);
        Add(hash, result.State);
        Add(hash, result.Payload);
        Add(hash, result.Traceback);
        Add(hash, result.DateDone?.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add(hash, result.ExpiresAt?.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add(hash, result.Children is null ? null : string.Join('\n', result.Children));
        Add(hash, result.GroupId);
        Add(hash, result.ParentId);
        Add(hash, result.Name);
        Add(hash, result.Args);
        Add(hash, result.Kwargs);
        Add(hash, result.Worker);
        Add(hash, result.Retries?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add(hash, result.Queue);
        Add(hash, result.Problem?.ToString());
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest[..8]);
    }

    // Each field length-prefixed, so that no two different records run together into the same bytes.
    private static void Add(IncrementalHash hash, string? value)
    {
        if (value is null)
        {
            hash.AppendData([0xFF]);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }

    private static void Add(IncrementalHash hash, ResultPayload? payload)
    {
        if (payload is null)
        {
            hash.AppendData([0xFF]);
            return;
        }

        Add(hash, payload.ContentType);
        Add(hash, payload.ContentEncoding);
        hash.AppendData(BitConverter.GetBytes(payload.Data.Length));
        hash.AppendData(payload.Data);
    }
}
