using System.Globalization;
using System.Text;

namespace ResultGrid.Storage;

/// <summary>
/// Optional store capability: a task's record exactly as the backend holds it, field by field,
/// without decoding, for tools that show a damaged record (<c>resultgrid inspect</c>).
/// </summary>
public interface IRawRecordReader : IResultStoreCapability
{
    /// <summary>The stored record as it is; null when nothing is stored under the id.</summary>
    ValueTask<RawRecord?> ReadRawAsync(string taskId, CancellationToken cancellationToken = default);
}

/// <summary>A stored record as it is: where it lives (a table, a key) and each stored field's raw value.</summary>
public sealed record RawRecord(string Location, IReadOnlyList<RawField> Fields);

/// <summary>One stored field: its name and its value as text (see <see cref="RawField.Render"/>); null for SQL NULL.</summary>
public sealed record RawField(string Name, string? Value)
{
    // Enough of a value to see what is wrong with it; an operator reads the rest with the database's own tools.
    private const int ShownChars = 2048;
    private const int ShownBytes = 512;

    /// <summary>
    /// A stored value as text, the same way for every backend: text with control characters
    /// escaped (<c>\u0000</c>), bytes as <c>0x…</c> hex with their count, dates in ISO 8601,
    /// numbers invariant; long values are cut, saying how long they are.
    /// </summary>
    public static string? Render(object? value)
    {
        switch (value)
        {
            case null or DBNull:
                return null;
            case string text:
                var escaped = new StringBuilder(Math.Min(text.Length, ShownChars) + 16);
                foreach (var c in text.Length > ShownChars ? text[..ShownChars] : text)
                {
                    if (char.IsControl(c) && c is not '\n' and not '\t')
                    {
                        escaped.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        escaped.Append(c);
                    }
                }

                return text.Length > ShownChars ? escaped.Append(CultureInfo.InvariantCulture, $"… ({text.Length} characters in all)").ToString() : escaped.ToString();
            case byte[] bytes:
                var hex = "0x" + Convert.ToHexString(bytes, 0, Math.Min(bytes.Length, ShownBytes)).ToLowerInvariant();
                return bytes.Length > ShownBytes ? $"{hex}… ({bytes.Length} bytes in all)" : $"{hex} ({bytes.Length} bytes)";
            case DateTime time:
                return time.ToString("O", CultureInfo.InvariantCulture);
            case DateTimeOffset time:
                return time.ToString("O", CultureInfo.InvariantCulture);
            case IFormattable formattable:
                return formattable.ToString(null, CultureInfo.InvariantCulture);
            default:
                return value.ToString();
        }
    }
}
