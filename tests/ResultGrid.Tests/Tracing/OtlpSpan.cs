using System.Text;

namespace ResultGrid.Tests;

/// <summary>
/// One span of an OTLP/protobuf <c>ExportTraceServiceRequest</c>, read by <see cref="Parse"/>: a
/// reader of protobuf's wire format for the few fields a test asserts on (the resource's
/// <c>service.name</c>, the scope's name, the span's trace id, span id, parent span id and name),
/// skipping every other field by its wire type. No protobuf library is referenced for this.
/// </summary>
internal sealed record OtlpSpan(string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name)
{
    public static IReadOnlyList<OtlpSpan> Parse(byte[] request)
    {
        var spans = new List<OtlpSpan>();
        // ExportTraceServiceRequest.resource_spans = 1
        foreach (var resourceSpans in Fields(request, 1))
        {
            var service = string.Empty;
            // ResourceSpans.resource = 1 → Resource.attributes = 1 → KeyValue { key = 1, value = 2 → AnyValue.string_value = 1 }
            foreach (var resource in Fields(resourceSpans, 1))
            {
                foreach (var attribute in Fields(resource, 1))
                {
                    if (Text(attribute, 1) == "service.name")
                    {
                        service = Fields(attribute, 2).Select(v => Text(v, 1)).FirstOrDefault() ?? string.Empty;
                    }
                }
            }

            // ResourceSpans.scope_spans = 2 → ScopeSpans { scope = 1 → InstrumentationScope.name = 1, spans = 2 }
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                var scope = Fields(scopeSpans, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? string.Empty;
                foreach (var span in Fields(scopeSpans, 2))
                {
                    // Span { trace_id = 1, span_id = 2, parent_span_id = 4, name = 5 }
                    spans.Add(new OtlpSpan(service, scope, Hex(span, 1), Hex(span, 2), Hex(span, 4), Text(span, 5) ?? string.Empty));
                }
            }
        }

        return spans;
    }

    private static string? Text(byte[] message, int field) => Fields(message, field).Select(b => Encoding.UTF8.GetString(b)).FirstOrDefault();

    private static string Hex(byte[] message, int field) => Fields(message, field).Select(Convert.ToHexStringLower).FirstOrDefault() ?? string.Empty;

    /// <summary>The values of length-delimited field <paramref name="number"/> of <paramref name="message"/>.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var at = 0;
        while (at < message.Length)
        {
            var key = Varint(message, ref at);
            var wire = (int)(key & 7);
            var field = (int)(key >> 3);
            switch (wire)
            {
                case 0:
                    Varint(message, ref at);
                    break;
                case 1:
                    at += 8;
                    break;
                case 5:
                    at += 4;
                    break;
                case 2:
                    var length = (int)Varint(message, ref at);
                    if (field == number)
                    {
                        found.Add(message.AsSpan(at, length).ToArray());
                    }

                    at += length;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wire} at byte {at} is not one OTLP uses");
            }
        }

        return found;
    }

    private static ulong Varint(byte[] message, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = message[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("a protobuf varint longer than 10 bytes");
    }
}
