using System.IO.Compression;
using ZstdSharp;

namespace ResultGrid.Serialization;

/// <summary>
/// The compressions a payload may carry, named in its content encoding (<c>gzip</c>,
/// <c>br</c>, <c>zstd</c>), so a reader undoes whatever the writer chose whatever its own
/// settings are now.
/// </summary>
internal static class ResultCompression
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

    [ThreadStatic]
    private static Compressor?[]? _zstdCompressors;

    /// <summary>
    /// 1–9 onto zstd's 1–22: the middle (6, the default) is zstd's own default 3, the fast end
    /// stays fast, and 9 reaches 19, where zstd's useful range ends.
    /// </summary>
    private static int ZstdLevel(int level) => level switch
    {
        <= 2 => 1,
        3 => 2,
        <= 6 => 3,
        7 => 6,
        8 => 12,
        _ => 19,
    };

    /// <summary>Levels 1 (fastest) to 9 (smallest), mapped onto each algorithm's own scale.</summary>
    public static byte[] Compress(string encoding, ReadOnlySpan<byte> data, int level)
    {
        switch (encoding)
        {
            case Zstd:
            {
                // A compressor holds large tables: building one per result cost more than the
                // compressing (560 results/s of 10 KB at zstd 13 in the codec bench). One per
                // thread and level, reused.
                var compressors = _zstdCompressors ??= new Compressor?[10];
                var compressor = compressors[level] ??= new Compressor(ZstdLevel(level));
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
