using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Http;

/// <summary>What a handler needs to read from a request, checked, with the problem to answer when it is wrong.</summary>
internal sealed class HttpRequests(IOptions<ResultGridHttpOptions> options, IConfiguration configuration)
{
    // Room for the fields around the value (state, name, args, ...) on top of ResultGrid:MaxResultBytes.
    private const long EnvelopeBytes = 64 * 1024;
    private const long DefaultMaxResultBytes = 16 * 1024 * 1024;

    private readonly ResultGridHttpOptions _options = options.Value;

    public long MaxBodyBytes => _options.MaxRequestBytes ?? (configuration.GetValue<long?>("ResultGrid:MaxResultBytes") ?? DefaultMaxResultBytes) + EnvelopeBytes;

    public TimeSpan KeepAlive => TimeSpan.FromSeconds(_options.KeepAliveSeconds);

    /// <summary>The <c>timeout</c> query value in seconds (default <paramref name="fallback"/>), or the problem with it.</summary>
    public (TimeSpan Timeout, IResult? Problem) Timeout(HttpRequest request, double fallback = 30)
    {
        var text = request.Query["timeout"].ToString();
        var seconds = Math.Min(fallback, _options.MaxWaitSeconds);
        if (text.Length > 0 && !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds))
        {
            return (default, HttpProblems.BadRequest($"timeout is '{text}', which is not a number of seconds; give 0 to {_options.MaxWaitSeconds.ToString(CultureInfo.InvariantCulture)} (ResultGrid:Http:MaxWaitSeconds), e.g. timeout=30 or timeout=2.5."));
        }

        if (double.IsNaN(seconds) || seconds < 0 || seconds > _options.MaxWaitSeconds)
        {
            return (default, HttpProblems.BadRequest($"timeout is {text}; it must be from 0 to {_options.MaxWaitSeconds.ToString(CultureInfo.InvariantCulture)} seconds (ResultGrid:Http:MaxWaitSeconds). Wait longer by asking again."));
        }

        return (TimeSpan.FromSeconds(seconds), null);
    }

    /// <summary>
    /// The body as one JSON document, read up to <see cref="MaxBodyBytes"/>; null (with the
    /// problem) when it is not JSON, too large or malformed. An empty body is allowed when <paramref name="optional"/>.
    /// </summary>
    public async Task<(JsonDocument? Body, IResult? Problem)> JsonBodyAsync(HttpRequest request, bool optional, CancellationToken cancellationToken)
    {
        var limit = MaxBodyBytes;
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return optional ? (null, null) : (null, HttpProblems.BadRequest("The request has no body; send a JSON object with Content-Type: application/json."));
        }

        var contentType = request.ContentType ?? string.Empty;
        var mediaType = contentType.Split(';')[0].Trim();
        if (!mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && !mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, HttpProblems.Result(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"The body is {(mediaType.Length == 0 ? "of no content type" : $"'{mediaType}'")}; this endpoint takes application/json. A value of another type is stored through the SDK, which encodes it with a codec."));
        }

        if (request.ContentLength > limit)
        {
            return (null, TooLarge(request.ContentLength.Value, limit));
        }

        // Kestrel's own cap (30 MB by default) would cut a larger allowed body with a bare 413.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + 1;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return (null, TooLarge(buffer.Length + read, limit));
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 256 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind;
                document.Dispose();
                return (null, HttpProblems.BadRequest($"The body is a JSON {kind.ToString().ToLowerInvariant()}; it must be a JSON object."));
            }

            return (document, null);
        }
        catch (JsonException ex)
        {
            return (null, HttpProblems.BadRequest($"The body is not valid JSON: {ex.Message}"));
        }
    }

    private static IResult TooLarge(long size, long limit) =>
        HttpProblems.Result(StatusCodes.Status413PayloadTooLarge, "Body too large",
            $"The body has {size} bytes or more, over the limit of {limit} bytes (ResultGrid:MaxResultBytes plus room for the other fields, or ResultGrid:Http:MaxRequestBytes). Nothing was stored; results are never truncated.");

    /// <summary>A path id checked by the SDK's rules, or the problem naming why not.</summary>
    public static IResult? BadId(string id, string what = "task id") =>
        TaskIds.Check(id) is { } problem ? HttpProblems.BadRequest($"The {what} is not usable: {problem}. Ids are 1 to {TaskIds.MaxLength} characters, with no control characters and no leading or trailing spaces.") : null;
}

/// <summary>The one place that turns what the SDK and silo refuse into problems; a bad request never reaches the store.</summary>
internal static class HttpErrors
{
    public static IResult? Map(Exception exception) => exception switch
    {
        // Kestrel's own cap (MaxRequestBodySize, set to the body limit) cuts a chunked body read past it.
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } cut => HttpProblems.Result(StatusCodes.Status413PayloadTooLarge, "Body too large", $"{cut.Message} Nothing was stored; results are never truncated."),
        ResultTooLargeException tooLarge => HttpProblems.Result(StatusCodes.Status413PayloadTooLarge, "Value too large", tooLarge.Message),
        ContentTypeNotAcceptedException notAccepted => HttpProblems.Result(StatusCodes.Status415UnsupportedMediaType, "Content type not accepted", notAccepted.Message),
        TaskNotRegisteredException notRegistered => HttpProblems.NotFound(notRegistered.Message),
        NotSupportedException notSupported => HttpProblems.Result(StatusCodes.Status501NotImplemented, "Not supported by this backend", notSupported.Message),
        ResultGridUnavailableException unavailable => HttpProblems.Result(StatusCodes.Status503ServiceUnavailable, "Cluster unavailable", unavailable.Message),
        ResultTimeoutException timeout => HttpProblems.Result(StatusCodes.Status504GatewayTimeout, "Timed out", timeout.Message),
        ArgumentException argument => HttpProblems.BadRequest(argument.ParamName is { } name ? argument.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : argument.Message),
        _ => null,
    };
}
