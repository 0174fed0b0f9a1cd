namespace ResultGrid;

/// <summary>
/// The named floating-point literals Python's <c>json</c> module (and so Celery's JSON) writes
/// bare, outside any string: <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>. RFC 8259 has no such
/// tokens and <see cref="System.Text.Json.Utf8JsonReader"/> rejects them, so a reader that meets
/// one rewrites the bytes first. One scanner here, shared by the JSON codec, the Redis document
/// reader and the HTTP views, which sit in assemblies that only have this one in common.
/// </summary>
/// <remarks>
/// Outside strings, valid JSON holds no <c>N</c> and no <c>I</c> (only <c>true</c>, <c>false</c>,
/// <c>null</c> and numbers), so a literal is found by its first letter; the rewrites are only ever
/// run after a strict parse failed, so the common path never pays for them.
/// </remarks>
internal static class PythonJsonLiterals
{
    private static readonly byte[] NaN = "NaN"u8.ToArray();
    private static readonly byte[] Infinity = "Infinity"u8.ToArray();
    private static readonly byte[] NegativeInfinity = "-Infinity"u8.ToArray();

    // Same-length numbers for Mask: 0e0 (3 bytes), 0.000000 (8), -0.000000 (9).
    private static readonly byte[] NaNMask = "0e0"u8.ToArray();
    private static readonly byte[] InfinityMask = "0.000000"u8.ToArray();
    private static readonly byte[] NegativeInfinityMask = "-0.000000"u8.ToArray();

    /// <summary>True when <paramref name="utf8"/> holds a bare <c>NaN</c>, <c>Infinity</c> or <c>-Infinity</c> outside every string.</summary>
    public static bool Contains(ReadOnlySpan<byte> utf8)
    {
        var inString = false;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (inString)
            {
                if (b == (byte)'\\') { i++; }
                else if (b == (byte)'"') { inString = false; }
            }
            else if (b == (byte)'"') { inString = true; }
            else if (LiteralAt(utf8, i) is not null) { return true; }
        }

        return false;
    }

    /// <summary>
    /// The bytes with each bare literal made the JSON string of its name (<c>"NaN"</c>,
    /// <c>"Infinity"</c>, <c>"-Infinity"</c>): strict JSON that System.Text.Json parses, in the form
    /// its <c>AllowNamedFloatingPointLiterals</c> number handling reads as the double. Null when
    /// there is no bare literal.
    /// </summary>
    public static byte[]? Quote(ReadOnlySpan<byte> utf8) => Rewrite(utf8, quote: true);

    /// <summary>
    /// The bytes with each bare literal replaced by a zero number of the same length, so that every
    /// offset into the result is an offset into <paramref name="utf8"/>: for a reader that walks the
    /// structure and takes raw slices of the original bytes. Null when there is no bare literal.
    /// </summary>
    public static byte[]? Mask(ReadOnlySpan<byte> utf8) => Rewrite(utf8, quote: false);

    private static byte[]? Rewrite(ReadOnlySpan<byte> utf8, bool quote)
    {
        List<byte>? output = null;
        var copied = 0;
        var inString = false;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (inString)
            {
                if (b == (byte)'\\') { i++; }
                else if (b == (byte)'"') { inString = false; }

                continue;
            }

            if (b == (byte)'"')
            {
                inString = true;
                continue;
            }

            if (LiteralAt(utf8, i) is not { } literal)
            {
                continue;
            }

            output ??= new List<byte>(utf8.Length + 16);
            output.AddRange(utf8[copied..i]);
            if (quote)
            {
                output.Add((byte)'"');
                output.AddRange(literal);
                output.Add((byte)'"');
            }
            else
            {
                output.AddRange(literal.Length == NaN.Length ? NaNMask : literal.Length == Infinity.Length ? InfinityMask : NegativeInfinityMask);
            }

            i += literal.Length - 1;
            copied = i + 1;
        }

        if (output is null)
        {
            return null;
        }

        output.AddRange(utf8[copied..]);
        return [.. output];
    }

    private static byte[]? LiteralAt(ReadOnlySpan<byte> utf8, int i)
    {
        var rest = utf8[i..];
        return rest[0] switch
        {
            (byte)'N' when rest.StartsWith(NaN) => NaN,
            (byte)'I' when rest.StartsWith(Infinity) => Infinity,
            (byte)'-' when rest.StartsWith(NegativeInfinity) => NegativeInfinity,
            _ => null,
        };
    }
}
