using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// What Celery's database backend pickles, as the JSON Celery's json serializer would have
/// stored: plain values as they are (tuples and sets as lists, int/float/bool/None dict keys as
/// Python's json writes them, NaN and Infinity bare as Python's json does, bytes as
/// <c>{"__type__": "bytes", "__base64__": "…"}</c>); a pickled exception as Celery's
/// <c>{"exc_type", "exc_message", "exc_module"}</c>; a pickled GroupResult as its children's
/// ids. The few known shapes are recognised by the names a pickle gives, never by loading them;
/// anything else is refused with the name of the global it would have called.
/// </summary>
internal static class CeleryPickle
{
    /// <summary>The most JSON one value may become (memo references can repeat a value many times).</summary>
    public const int MaxOutputBytes = 64 * 1024 * 1024;

    /// <summary>The deepest nesting read; deeper (or a container holding itself) is refused.</summary>
    public const int MaxDepth = 64;

    public const string PlainData = "only plain data (None, bool, int, float, str, bytes, list, tuple, dict, set) is read";

    /// <summary>The value as JSON bytes; <see cref="PickleException"/> naming <paramref name="what"/> when it is not plain data.</summary>
    public static byte[] ToJson(PickleNode node, string what)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            var visits = 0;
            Write(writer, node, what, 0, ref visits);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A pickled exception (Celery's result_serializer='pickle' stores the instance: the class as a
    /// global, REDUCE with its args tuple) as Celery's JSON failure document; null when the value
    /// is no call of an exception-like class.
    /// </summary>
    public static byte[]? ExceptionJson(PickleNode node, string what)
    {
        if (node is not PickleCall { Global: { } type, Args: { } args })
        {
            return null;
        }

        // Celery's wrapper for an exception it could not pickle: (module, class name, args, text).
        if (type is { Python3Module: "celery.utils.serialization", Name: "UnpickleableExceptionWrapper" } &&
            args is [PickleString module, PickleString name, var wrappedArgs, ..])
        {
            return Failure(name.Value, module.Value, wrappedArgs, what);
        }

        return LooksLikeException(type) ? Failure(type.Name, type.Python3Module, new PickleTuple([.. args]), what) : null;
    }

    /// <summary>The child ids of a pickled celery.result.GroupResult (args: id, [AsyncResult(id, backend, …), …]).</summary>
    public static string[] GroupChildren(PickleNode node, string groupId)
    {
        if (node is not PickleCall { Global: { Python3Module: "celery.result", Name: "GroupResult" or "ResultSet" } group } call)
        {
            throw new PickleException($"group '{groupId}': the result is {Describe(node)}, not a pickled celery.result.GroupResult; ResultGrid reads only a GroupResult's child ids from it");
        }

        var args = call.Args ?? [];
        var results = group.Name == "GroupResult" ? args.ElementAtOrDefault(1) : args.ElementAtOrDefault(0);
        if (results is not PickleList and not PickleTuple)
        {
            throw new PickleException($"group '{groupId}': the pickled {group.FullName} has no list of results where Celery 5 puts it");
        }

        var items = results is PickleList l ? l.Items : ((PickleTuple)results).Items;
        return items.Select((child, i) => child is PickleCall { Global: { Python3Module: "celery.result", Name: "AsyncResult" }, Args: [PickleString id, ..] }
            ? id.Value
            : throw new PickleException($"group '{groupId}': child {i} of the pickled GroupResult is {Describe(child)}, not a celery.result.AsyncResult with an id; nested groups are not read")).ToArray();
    }

    /// <summary>How a value that is not plain data is named in messages.</summary>
    public static string Describe(PickleNode node) => node switch
    {
        // Protocols 0 and 1 make an instance through copyreg._reconstructor(cls, base, state): name the class.
        PickleCall { Global: { Python3Module: "copyreg", Name: "_reconstructor" }, Args: [PickleGlobal type, ..] } => "a pickled instance of " + type.FullName,
        PickleCall { Global: { } g, NewObject: true } => "a pickled instance of " + g.FullName,
        PickleCall { Global: { } g } when char.IsAsciiLetterUpper(g.Name.FirstOrDefault()) => "a pickled instance of " + g.FullName,
        PickleCall { Global: { } g } => "a pickled call of " + g.FullName,
        PickleCall => "a pickled object",
        PickleGlobal g => "a pickled reference to " + g.FullName,
        _ => "a " + node.Kind,
    };

    private static byte[] Failure(string type, string module, PickleNode args, string what)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("exc_type", type);
            writer.WritePropertyName("exc_message");
            var visits = 0;
            Write(writer, args, what + "'s exception arguments", 1, ref visits);
            writer.WriteString("exc_module", module);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // An exception class by Python's naming (ValueError, KeyboardInterrupt, SystemExit, …) or one
    // of Celery's and billiard's own exception modules. Only a name test: nothing is loaded.
    private static bool LooksLikeException(PickleGlobal type) =>
        type.Python3Module is "celery.exceptions" or "billiard.exceptions" or "kombu.exceptions" ||
        (char.IsAsciiLetterUpper(type.Name.FirstOrDefault()) &&
         (type.Name.EndsWith("Error", StringComparison.Ordinal) || type.Name.EndsWith("Exception", StringComparison.Ordinal) ||
          type.Name.EndsWith("Exit", StringComparison.Ordinal) || type.Name.EndsWith("Interrupt", StringComparison.Ordinal) ||
          type.Name.EndsWith("Warning", StringComparison.Ordinal) || type.Name.EndsWith("Timeout", StringComparison.Ordinal) ||
          type.Name.EndsWith("Exceeded", StringComparison.Ordinal) || type.Name is "StopIteration" or "StopAsyncIteration"));

    private static void Write(Utf8JsonWriter writer, PickleNode node, string what, int depth, ref int visits)
    {
        if (depth > MaxDepth)
        {
            throw new PickleException($"the {what} nests deeper than {MaxDepth} levels (or holds itself); deeper values are not read");
        }

        if (++visits > 2 * PickleReader.MaxItems || writer.BytesCommitted + writer.BytesPending > MaxOutputBytes)
        {
            throw new PickleException($"the {what} is larger than {MaxOutputBytes / (1024 * 1024)} MiB as JSON (or repeats a value that often); larger values are not read");
        }

        switch (node)
        {
            case PickleNone:
                writer.WriteNullValue();
                break;
            case PickleBool b:
                writer.WriteBooleanValue(b.Value);
                break;
            case PickleInt i when i.Value >= long.MinValue && i.Value <= long.MaxValue:
                writer.WriteNumberValue((long)i.Value);
                break;
            case PickleInt i:
                // Exact, however long: JSON numbers have no size limit and Python reads them back whole.
                writer.WriteRawValue(i.Value.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
                break;
            case PickleFloat f:
                writer.WriteRawValue(PythonFloat(f.Value), skipInputValidation: true);
                break;
            case PickleString s:
                writer.WriteStringValue(s.Value);
                break;
            case PickleBytes bytes:
                WriteBytes(writer, bytes.Value);
                break;
            case PickleList or PickleTuple or PickleSet:
                writer.WriteStartArray();
                foreach (var item in node switch { PickleList l => l.Items, PickleTuple t => t.Items, _ => ((PickleSet)node).Items })
                {
                    Write(writer, item, what, depth + 1, ref visits);
                }

                writer.WriteEndArray();
                break;
            case PickleDict d:
                writer.WriteStartObject();
                foreach (var (key, value) in d.Items)
                {
                    writer.WritePropertyName(Key(key, what));
                    Write(writer, value, what, depth + 1, ref visits);
                }

                writer.WriteEndObject();
                break;
            case PickleCall call when KnownPlain(call, what) is { } plain:
                Write(writer, plain, what, depth, ref visits);
                break;
            default:
                throw new PickleException($"the {what} is {Describe(node)}, which ResultGrid will not load; {PlainData}");
        }
    }

    // The calls a pickle at protocols 0 to 3 writes for plain values: set and frozenset from a
    // list, bytes as _codecs.encode(latin-1 text), bytearray from bytes or latin-1 text.
    private static PickleNode? KnownPlain(PickleCall call, string what)
    {
        if (call is not { Global: { } g, Args: { } given, State: null })
        {
            return null;
        }

        // Protocols 0 to 2 write a bytearray's bytes as a nested _codecs.encode call.
        var args = given.Select(a => a is PickleCall inner && KnownPlain(inner, what) is { } plain ? plain : a).ToArray();

        return (g.FullName, args) switch
        {
            ("builtins.set", []) => new PickleSet([], false),
            ("builtins.frozenset", []) => new PickleSet([], true),
            ("builtins.set" or "builtins.frozenset", [PickleList l]) => new PickleSet(l.Items, g.Name == "frozenset"),
            ("builtins.bytes", []) => new PickleBytes([], false),
            ("builtins.bytearray", []) => new PickleBytes([], true),
            ("builtins.bytearray", [PickleBytes b]) => new PickleBytes(b.Value, true),
            ("_codecs.encode" or "builtins.bytearray", [PickleString s, PickleString { Value: "latin1" or "latin-1" }]) => Latin1Bytes(s.Value, what),
            _ => null,
        };
    }

    private static PickleBytes Latin1Bytes(string text, string what) =>
        text.All(c => c <= '\u00ff')
            ? new PickleBytes(System.Text.Encoding.Latin1.GetBytes(text), false)
            : throw new PickleException($"the {what} holds bytes written as latin-1 text with characters beyond latin-1");

    private static void WriteBytes(Utf8JsonWriter writer, byte[] value)
    {
        // JSON has no bytes, and Celery's json serializer of 5.2 cannot write them at all: kept
        // exactly, as base64 under a marker no plain dict of a task is likely to carry.
        writer.WriteStartObject();
        writer.WriteString("__type__", "bytes");
        writer.WriteBase64String("__base64__", value);
        writer.WriteEndObject();
    }

    // Python's json.dumps turns int, float, bool and None keys into their JSON text; it refuses others.
    private static string Key(PickleNode key, string what) => key switch
    {
        PickleString s => s.Value,
        PickleInt i => i.Value.ToString(CultureInfo.InvariantCulture),
        PickleBool b => b.Value ? "true" : "false",
        PickleNone => "null",
        PickleFloat f => PythonFloat(f.Value),
        _ => throw new PickleException($"the {what} is a dict with a {Describe(key)} key, which JSON cannot hold; keys must be str, int, float, bool or None"),
    };

    /// <summary>A float as Python's json writes it: the shortest round-trip digits, bare NaN and Infinity, and ".0" on whole numbers.</summary>
    public static string PythonFloat(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "Infinity" : "-Infinity";
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('e', StringComparison.Ordinal) ? text : text + ".0";
    }
}
