using System.Globalization;
using System.Text.Json;

namespace ResultGrid.Http.Dashboard;

/// <summary>
/// A JSON value as a tree of <c>details</c> elements: collapsible with the keyboard and without
/// any script, every key and string encoded as text. Bounded twice, by the bytes read and by
/// the nodes drawn, so a huge value cannot stall the page.
/// </summary>
internal static class JsonTree
{
    public const int MaxBytes = 256 * 1024;
    public const int MaxNodes = 5000;

    /// <summary>Writes the tree; false when the bytes are not one JSON value (nothing written then).</summary>
    /// <param name="html">The page.</param>
    /// <param name="utf8">The value's JSON; bare NaN, Infinity and -Infinity (Python's json) are read too.</param>
    /// <param name="namedLiterals">True when <paramref name="utf8"/> has those literals already as strings (the HTTP views' form): they are drawn as numbers.</param>
    public static bool Write(Html html, byte[] utf8, bool namedLiterals = false)
    {
        if (utf8.Length > MaxBytes)
        {
            html.Element("p", $"The value is {utf8.Length:N0} bytes; the tree shows values up to {MaxBytes / 1024} KiB. Its start is below; download the raw bytes for all of it.", ("class", "note"), ("data-testid", "value-truncated"))
                .Element("pre", System.Text.Encoding.UTF8.GetString(utf8, 0, 4096), ("class", "raw"));
            return true;
        }

        JsonDocument document;
        var literals = namedLiterals;
        try
        {
            document = Parse(utf8);
        }
        catch (JsonException)
        {
            // Python's json writes NaN, Infinity and -Infinity bare: shown as the number they name.
            if (PythonJsonLiterals.Quote(utf8) is not { } quoted)
            {
                return false;
            }

            try
            {
                document = Parse(quoted);
                literals = true;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        using (document)
        {
            var nodes = 0;
            html.Open("div", ("class", "json"), ("role", "tree"), ("aria-label", "Value"));
            Node(html, null, document.RootElement, 0, literals, ref nodes);
            html.Close("div");
            if (nodes > MaxNodes)
            {
                html.Element("p", $"Only the first {MaxNodes:N0} items are shown; download the raw bytes for the whole value.", ("class", "note"), ("data-testid", "value-truncated"));
            }
        }

        return true;
    }

    private static void Node(Html html, string? key, JsonElement value, int depth, bool literals, ref int nodes)
    {
        if (++nodes > MaxNodes)
        {
            return;
        }

        if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            var isObject = value.ValueKind == JsonValueKind.Object;
            var count = isObject ? value.EnumerateObject().Count() : value.GetArrayLength();
            // The first two levels open: most values are read at a glance; deeper ones on demand.
            html.Open("details", ("open", depth < 2 ? string.Empty : null), ("role", "treeitem")).Open("summary");
            Key(html, key);
            html.Element("span", isObject ? $"{{{count} {(count == 1 ? "key" : "keys")}}}" : $"[{count} {(count == 1 ? "item" : "items")}]", ("class", "json-kind")).Close("summary");
            html.Open("div", ("class", "json-children"), ("role", "group"));
            if (isObject)
            {
                foreach (var property in value.EnumerateObject())
                {
                    Node(html, property.Name, property.Value, depth + 1, literals, ref nodes);
                }
            }
            else
            {
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    Node(html, index++.ToString(CultureInfo.InvariantCulture), item, depth + 1, literals, ref nodes);
                }
            }

            html.Close("div").Close("details");
            return;
        }

        html.Open("div", ("class", "json-leaf"), ("role", "treeitem"));
        Key(html, key);
        var (css, text) = value.ValueKind switch
        {
            // Only in a value that held bare literals: those strings are the floats they were.
            JsonValueKind.String when literals && IsLiteral(value) => ("json-number", value.GetString()!),
            JsonValueKind.String => ("json-string", JsonSerializer.Serialize(value.GetString(), HttpJson.Options)),
            JsonValueKind.Number => ("json-number", value.GetRawText()),
            JsonValueKind.True or JsonValueKind.False => ("json-bool", value.GetRawText()),
            _ => ("json-null", "null"),
        };
        html.Element("span", text, ("class", css)).Close("div");
    }

    private static JsonDocument Parse(byte[] utf8) => JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 256 });

    private static bool IsLiteral(JsonElement value) =>
        value.ValueEquals("NaN"u8) || value.ValueEquals("Infinity"u8) || value.ValueEquals("-Infinity"u8);

    private static void Key(Html html, string? key)
    {
        if (key is not null)
        {
            html.Element("span", key, ("class", "json-key")).Text(": ");
        }
    }
}
