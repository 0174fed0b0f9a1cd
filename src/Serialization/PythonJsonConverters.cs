using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ResultGrid.Serialization;

/// <summary>
/// The converters that make System.Text.Json write and read numbers as Python's <c>json</c> does
/// (Celery's default serializer): non-finite floats as the bare literals <c>NaN</c>,
/// <c>Infinity</c>, <c>-Infinity</c>, integers of any size as JSON numbers, and a refusal for the
/// types STJ would otherwise dump as a bag of their properties.
/// </summary>
internal static class PythonJsonConverters
{
    /// <summary>Appended after the caller's own converters, so a converter the caller chose still wins.</summary>
    public static void AddTo(IList<JsonConverter> converters)
    {
        converters.Add(new DoubleConverter());
        converters.Add(new SingleConverter());
        converters.Add(new HalfConverter());
        converters.Add(new BigIntegerConverter());
        converters.Add(new RefusedTypeConverterFactory());
    }

    /// <summary>A bare literal for a non-finite value, as Python's json.dumps writes it (allow_nan is its default).</summary>
    private static void WriteNonFinite(Utf8JsonWriter writer, double value) =>
        writer.WriteRawValue(double.IsNaN(value) ? "NaN"u8 : value > 0 ? "Infinity"u8 : "-Infinity"u8, skipInputValidation: true);

    /// <summary>
    /// A number, or one of the named literals as a string: the codec turns bare literals into
    /// those strings before System.Text.Json sees them (see <see cref="PythonJsonLiterals.Quote"/>).
    /// Any other string is refused as STJ refuses it, so "1.5" does not become a number here.
    /// </summary>
    private static double ReadFloat(ref Utf8JsonReader reader, Type type)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetDouble();
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            if (reader.ValueTextEquals("NaN"u8)) { return double.NaN; }
            if (reader.ValueTextEquals("Infinity"u8)) { return double.PositiveInfinity; }
            if (reader.ValueTextEquals("-Infinity"u8)) { return double.NegativeInfinity; }
        }

        throw new JsonException($"A JSON {reader.TokenType} cannot be read as {type.Name}: a number, NaN, Infinity or -Infinity is.");
    }

    private sealed class DoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadFloat(ref reader, typeToConvert);

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) { writer.WriteNumberValue(value); }
            else { WriteNonFinite(writer, value); }
        }
    }

    private sealed class SingleConverter : JsonConverter<float>
    {
        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Number ? reader.GetSingle() : (float)ReadFloat(ref reader, typeToConvert);

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value)) { writer.WriteNumberValue(value); }
            else { WriteNonFinite(writer, value); }
        }
    }

    private sealed class HalfConverter : JsonConverter<Half>
    {
        public override Half Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => (Half)ReadFloat(ref reader, typeToConvert);

        public override void Write(Utf8JsonWriter writer, Half value, JsonSerializerOptions options)
        {
            // Half's shortest round-trip text, written as the number it is (Python reads it as a float).
            if (Half.IsFinite(value)) { writer.WriteRawValue(value.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: false); }
            else { WriteNonFinite(writer, (double)value); }
        }
    }

    /// <summary>
    /// A BigInteger as the integer it is, like Python's int: System.Text.Json has no converter for
    /// it and would write its properties (<c>{"IsPowerOfTwo": true, ...}</c>), which Celery then
    /// returns as that dict.
    /// </summary>
    private sealed class BigIntegerConverter : JsonConverter<BigInteger>
    {
        public override BigInteger Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException($"A JSON {reader.TokenType} cannot be read as BigInteger: a whole number is.");
            }

            var text = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray();
            // Python writes an int with digits only; 1.5 or 1e3 is a float there, not an integer.
            return BigInteger.TryParse(System.Text.Encoding.ASCII.GetString(text), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new JsonException($"The JSON number {System.Text.Encoding.ASCII.GetString(text)} cannot be read as BigInteger: it is not a whole number.");
        }

        public override void Write(Utf8JsonWriter writer, BigInteger value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    /// <summary>
    /// The types this codec refuses rather than store as something else. The rule: a type whose
    /// public properties are not its value, so STJ's default (an object of those properties, or
    /// <c>{}</c> for a type of fields) would be read back by Celery as a dict that is not the value:
    /// every System.Numerics type except BigInteger (Complex, vectors, matrices, quaternions,
    /// planes; Python's json has no complex either), streams, tasks, cancellation tokens, wait
    /// handles and threads. Types STJ already refuses (Type and other reflection types, delegates,
    /// IntPtr/UIntPtr, SerializationInfo) keep its refusal, which the serializer wraps with the task.
    /// </summary>
    internal sealed class RefusedTypeConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) => Reason(typeToConvert) is not null;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(RefusedConverter<>).MakeGenericType(typeToConvert), Reason(typeToConvert))!;

        internal static string? Reason(Type type)
        {
            // An array's Namespace is its element's: BigInteger[] is a list, judged by its items.
            if (type.HasElementType)
            {
                return null;
            }

            if (type.Namespace == "System.Numerics" && type != typeof(BigInteger))
            {
                return "Python's json has no form for it (System.Text.Json would write its properties as an object); store its parts, e.g. as a list of numbers";
            }

            if (typeof(Stream).IsAssignableFrom(type))
            {
                return "a stream is a source of bytes, not a value; read it and store the bytes (the raw codec) or their text";
            }

            if (typeof(Task).IsAssignableFrom(type) || type == typeof(ValueTask) || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            {
                return "a task is an operation, not a value; await it and store its result";
            }

            if (type == typeof(CancellationToken) || typeof(WaitHandle).IsAssignableFrom(type) || typeof(Thread).IsAssignableFrom(type))
            {
                return "it is runtime state, not a value";
            }

            return null;
        }
    }

    private sealed class RefusedConverter<T>(string reason) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException($"The JSON codec does not read {ResultEncodeException.Name(typeToConvert)}: {reason}.");

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            throw new NotSupportedException($"The JSON codec does not store {ResultEncodeException.Name(value?.GetType() ?? typeof(T))}: {reason}.");
    }
}
