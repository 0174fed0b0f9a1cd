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

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
