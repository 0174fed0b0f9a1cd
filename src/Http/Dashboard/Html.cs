using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace ResultGrid.Http.Dashboard;

/// <summary>
/// The dashboard's one way to write HTML: tag names and attribute names are literals of ours,
/// and every text and attribute value goes through the HTML encoder, so nothing a result holds
/// (a value, a traceback, a task name or id) can become markup or script in the page.
/// </summary>
internal sealed class Html
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;
    private readonly StringBuilder _text = new(8192);

    public Html Open(string tag, params (string Name, string? Value)[] attributes)
    {
        _text.Append('<').Append(tag);
        foreach (var (name, value) in attributes)
        {
            if (value is null)
            {
                continue;
            }

            _text.Append(' ').Append(name);
            if (value.Length > 0)
            {
                _text.Append("=\"").Append(Encoder.Encode(value)).Append('"');
            }
        }

        _text.Append('>');
        return this;
    }

    public Html Close(string tag)
    {
        _text.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>An element holding only <paramref name="text"/>, encoded.</summary>
    public Html Element(string tag, string? text, params (string Name, string? Value)[] attributes) =>
        Open(tag, attributes).Text(text).Close(tag);

    /// <summary>An element with no content and no closing tag (input, meta, link).</summary>
    public Html Void(string tag, params (string Name, string? Value)[] attributes) => Open(tag, attributes);

    public Html Text(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _text.Append(Encoder.Encode(text));
        }

        return this;
    }

    public Html Text(long number) => Text(number.ToString("N0", CultureInfo.InvariantCulture));

    /// <summary>Markup written by this assembly (a doctype, a fixed SVG skeleton), never data.</summary>
    public Html Trusted(string markup)
    {
        _text.Append(markup);
        return this;
    }

    public override string ToString() => _text.ToString();

    public static string Date(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : string.Empty;

    public static string Iso(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : string.Empty;
}
