using System.IO.Compression;
using ZstdSharp;

namespace ResultGrid.Serialization;

/// <summary>
/// The compressions a payload may carry, named in its content encoding (<c>gzip</c>,
/// <c>br</c>, <c>zstd</c>), so a reader undoes whatever the writer chose whatever its own
/// settings are now.
/// </summary>
public static class ResultCompression
{
    public const string Gzip = "gzip";
    public const string Brotli = "br";
    public const string Zstd = "zstd";

    /// <summary>Configuration names (case-insensitive) to the encoding token recorded with a payload.</summary>
    private static readonly Dictionary<string, string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["none"] = "", [""] = "",
        ["gzip"] = Gzip, ["gz"] = Gzip,
        ["brotli"] = Brotli, ["br"] = Brotli,
        ["zstd"] = Zstd, ["zstandard"] = Zstd,
    };

    public static bool IsKnownEncoding(string? encoding) => encoding is Gzip or Brotli or Zstd;

    /// <summary>The encoding token for a configured name: "" for none, null when unknown.</summary>
    public static string? Normalize(string? name) => Names.TryGetValue(name?.Trim() ?? "", out var token) ? token : null;

    public const string Allowed = "none, gzip, brotli, zstd";

    /// <summary>Levels 1 (fastest) to 9 (smallest), mapped onto each algorithm's own scale.</summary>
    public static byte[] Compress(string encoding, ReadOnlySpan<byte> data, int level)
    {
        switch (encoding)
        {
            case Zstd:
            {
                // zstd's scale runs to 22; 1–9 here maps to 1–19, where its useful range ends.
                using var compressor = new Compressor(Math.Clamp(level * 2 + 1, 1, 19));
                return compressor.Wrap(data).ToArray();
            }

            case Gzip:
            case Brotli:
            {
                using var output = new MemoryStream();
                var compressionLevel = level <= 3 ? CompressionLevel.Fastest : level >= 8 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal;
                using (Stream stream = encoding == Gzip ? new GZipStream(output, compressionLevel, leaveOpen: true) : new BrotliStream(output, compressionLevel, leaveOpen: true))
                {
                    stream.Write(data);
                }

                return output.ToArray();
            }

            default:
                throw new ArgumentException($"Unknown compression '{encoding}'; allowed: {Allowed}.", nameof(encoding));
        }
    }

    /// <summary>
    /// Undoes <paramref name="encoding"/>. Stops at <paramref name="maxBytes"/> of output, so a
    /// small hostile payload cannot expand into all of a reader's memory.
    /// </summary>
    public static byte[] Decompress(string encoding, ReadOnlyMemory<byte> data, long maxBytes)
    {
        using var input = new MemoryStream(data.ToArray(), writable: false);
        using Stream stream = encoding switch
        {
            Gzip => new GZipStream(input, CompressionMode.Decompress),
            Brotli => new BrotliStream(input, CompressionMode.Decompress),
            Zstd => new DecompressionStream(input),
            _ => throw new ArgumentException($"Unknown compression '{encoding}'; allowed: {Allowed}.", nameof(encoding)),
        };
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            if (output.Length + read > maxBytes)
            {
                throw new InvalidDataException($"The {encoding} payload expands past {maxBytes} bytes, the most a reader decompresses (ResultGrid:Serialization:MaxDecompressedBytes).");
            }

            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }
}
