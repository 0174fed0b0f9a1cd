using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ResultGrid.Serialization;

/// <summary>How results are encoded and which stored content types a reader accepts.</summary>
/// <remarks>Bound from the <c>ResultGrid:Serialization</c> configuration section.</remarks>
public sealed class ResultSerializationOptions
{
    public const string SectionName = "ResultGrid:Serialization";

    /// <summary>The codec used for new results, by alias or content type (Celery's <c>result_serializer</c>). Default <c>json</c>.</summary>
    public string Serializer { get; set; } = "json";

    /// <summary>
    /// Content types a reader decodes (Celery's <c>result_accept_content</c>). A stored result of
    /// any other type is refused with an error naming its type and this list. Null (the default)
    /// means JSON only.
    /// </summary>
    /// <remarks>
    /// Null rather than a pre-filled list because configuration binding appends to an existing
    /// list, so a configured list could never drop the default.
    /// </remarks>
    public List<string>? AcceptContent { get; set; }

    internal IReadOnlyList<string> EffectiveAcceptContent => AcceptContent ?? ["json"];

    /// <summary>
    /// Compression of new results (Celery's <c>result_compression</c>, which Celery documents but
    /// does not apply to results): <c>none</c> (default), <c>gzip</c>, <c>brotli</c> or <c>zstd</c>.
    /// Recorded with each result, so readers undo it whatever their own setting.
    /// </summary>
    public string Compression { get; set; } = "none";

    /// <summary>1 (fastest) to 9 (smallest), mapped onto each algorithm's scale. Default 6.</summary>
    public int CompressionLevel { get; set; } = 6;

    /// <summary>
    /// Encoded results smaller than this many bytes are stored as they are: compressing them
    /// costs time and saves nothing. Default 1024.
    /// </summary>
    public int CompressionThreshold { get; set; } = 1024;

    /// <summary>The most a reader decompresses one result to, so a small hostile payload cannot expand into all its memory. Default 256 MiB.</summary>
    public long MaxDecompressedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Options for the JSON codec; null for System.Text.Json's general defaults.</summary>
    public JsonSerializerOptions? Json { get; set; }

    /// <summary>Extra codecs, e.g. a user's own format (kombu's <c>register</c>).</summary>
    public List<IResultCodec> Codecs { get; } = [];
}

internal sealed class ResultSerializationOptionsValidator : IValidateOptions<ResultSerializationOptions>
{
    public ValidateOptionsResult Validate(string? name, ResultSerializationOptions options)
    {
        var registry = new CodecRegistry(options);
        var failures = new List<string>();
        if (registry.Find(options.Serializer) is null)
        {
            failures.Add($"ResultGrid:Serialization:Serializer '{options.Serializer}' is not a known codec; known: {registry.Describe()}.");
        }

        if (options.AcceptContent is { Count: 0 })
        {
            failures.Add("ResultGrid:Serialization:AcceptContent is empty, so no stored result could be read; list at least one codec, e.g. json.");
        }

        foreach (var accepted in options.EffectiveAcceptContent)
        {
            if (registry.Find(accepted) is null)
            {
                failures.Add($"ResultGrid:Serialization:AcceptContent names '{accepted}', which is not a known codec; known: {registry.Describe()}.");
            }
        }

        if (ResultCompression.Normalize(options.Compression) is null)
        {
            failures.Add($"ResultGrid:Serialization:Compression is '{options.Compression}'; allowed: {ResultCompression.Allowed}.");
        }

        if (options.CompressionLevel is < 1 or > 9)
        {
            failures.Add($"ResultGrid:Serialization:CompressionLevel is {options.CompressionLevel}; it must be from 1 (fastest) to 9 (smallest).");
        }

        if (options.CompressionThreshold < 0)
        {
            failures.Add($"ResultGrid:Serialization:CompressionThreshold is {options.CompressionThreshold}; it must be 0 or more bytes.");
        }

        if (options.MaxDecompressedBytes < 1024)
        {
            failures.Add($"ResultGrid:Serialization:MaxDecompressedBytes is {options.MaxDecompressedBytes}; it must be at least 1024 bytes.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
