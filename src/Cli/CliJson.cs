using System.Text.Json;

namespace ResultGrid.Cli;

/// <summary>The commands' --json form, in one place.</summary>
internal static class CliJson
{
    // Readable in a terminal and a script alike: '+' and quotes in URLs and table names stay as they are.
    public static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
