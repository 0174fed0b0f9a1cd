using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// Reads a Python pickle (protocols 0 to 5) into <see cref="PickleNode"/>s without ever running
/// it: the opcodes that carry plain data build values; a GLOBAL (or STACK_GLOBAL) only names a
/// callable as a <see cref="PickleGlobal"/>, and REDUCE / NEWOBJ / BUILD only record a
/// <see cref="PickleCall"/> on it, for <see cref="CeleryPickle"/> to recognise a few known shapes
/// by name. Nothing is imported, resolved or called; every other opcode (INST, OBJ, NEWOBJ_EX,
/// EXT*, PERSID, out-of-band buffers) is refused. Bounded by input size and item count, so a
/// crafted pickle cannot exhaust memory.
/// </summary>
internal sealed class PickleReader
{
    /// <summary>The largest pickle read: Celery's result column is one value, not a file.</summary>
    public const int MaxInputBytes = 64 * 1024 * 1024;

    /// <summary>The most items (values pushed, container entries, memo slots) one pickle may make.</summary>
    public const int MaxItems = 1_000_000;

    private readonly byte[] _data;
    private readonly List<PickleNode> _stack = new(16);
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, PickleNode> _memo = [];
    private int _position;
    private int _items;

    private PickleReader(byte[] data) => _data = data;

    /// <summary>The value the pickle holds; <see cref="PickleException"/> (saying what and where) when it is not readable plain data.</summary>
    public static PickleNode Read(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length > MaxInputBytes)
        {
            throw new PickleException($"the pickle is {data.Length:N0} bytes; at most {MaxInputBytes:N0} are read");
        }

        if (data.Length == 0)
        {
            throw new PickleException("the pickle is empty");
        }

        try
        {
            return new PickleReader(data).Run();
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException or FormatException)
        {
            // A value no opcode check caught (an out-of-range code point, say): still a named error.
            throw new PickleException($"the pickle is not readable: {ex.Message}");
        }
    }

    private PickleNode Run()
    {
        while (true)
        {
            var at = _position;
            var op = Byte();
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = Byte();
                    if (protocol > 5)
                    {
                        throw Bad(at, $"pickle protocol {protocol} is not known; protocols 0 to 5 are read");
                    }

                    break;
                case 0x95: // FRAME: an 8-byte length; the frame's opcodes follow inline.
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Bad(at, "STOP with " + (_marks.Count != 0 ? "an open MARK" : $"{_stack.Count} values on the stack instead of one"));
                    }

                    return _stack[0];
                case (byte)'(': // MARK
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': // POP
                    if (_marks.Count > 0 && _marks.Peek() == _stack.Count)
                    {
                        _marks.Pop();
                    }
                    else
                    {
                        Pop(at);
                    }

                    break;
                case (byte)'1': // POP_MARK
                    PopMark(at);
                    break;
                case (byte)'2': // DUP
                    Push(Peek(at));
                    break;
                case (byte)'N':
                    Push(PickleNone.Value);
                    break;
                case 0x88: // NEWTRUE
                    Push(PickleBool.True);
                    break;
                case 0x89: // NEWFALSE
                    Push(PickleBool.False);
                    break;
                case (byte)'I': // INT (text); "00"/"01" are protocol 0's False/True.
                    var intText = Line();
                    Push(intText switch
                    {
                        "00" => PickleBool.False,
                        "01" => PickleBool.True,
                        _ => new PickleInt(ParseInt(intText, at)),
                    });
                    break;
                case (byte)'L': // LONG (text, with an optional trailing L)
                    var longText = Line();
                    Push(new PickleInt(ParseInt(longText.EndsWith('L') ? longText[..^1] : longText, at)));
                    break;
                case (byte)'J': // BININT
                    Push(new PickleInt(BinaryPrimitives.ReadInt32LittleEndian(Take(4))));
                    break;
                case (byte)'K': // BININT1
                    Push(new PickleInt(Byte()));
                    break;
                case (byte)'M': // BININT2
                    Push(new PickleInt(BinaryPrimitives.ReadUInt16LittleEndian(Take(2))));
                    break;
                case 0x8a: // LONG1
                    Push(new PickleInt(new BigInteger(Take(Byte()), isUnsigned: false, isBigEndian: false)));
                    break;
                case 0x8b: // LONG4
                    Push(new PickleInt(new BigInteger(Take(Length(4, at)), isUnsigned: false, isBigEndian: false)));
                    break;
                case (byte)'F': // FLOAT (text, Python's repr)
                    Push(new PickleFloat(ParseFloat(Line(), at)));
                    break;
                case (byte)'G': // BINFLOAT (big-endian double)
                    Push(new PickleFloat(BinaryPrimitives.ReadDoubleBigEndian(Take(8))));
                    break;
                case (byte)'V': // UNICODE (raw-unicode-escape text)
                    Push(new PickleString(RawUnicodeEscape(Line(), at)));
                    break;
                case (byte)'X': // BINUNICODE
                    Push(new PickleString(Utf8(Take(Length(4, at)), at)));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(new PickleString(Utf8(Take(Byte()), at)));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(new PickleString(Utf8(Take(Length(8, at)), at)));
                    break;
                case (byte)'S': // STRING: a Python 2 str, a quoted repr; read as text as Python 3 does (encoding='ASCII').
                    Push(new PickleString(QuotedString(Line(), at)));
                    break;
                case (byte)'T': // BINSTRING
                    Push(new PickleString(Latin1(Take(Length(4, at)))));
                    break;
                case (byte)'U': // SHORT_BINSTRING
                    Push(new PickleString(Latin1(Take(Byte()))));
                    break;
                case (byte)'B': // BINBYTES
                    Push(new PickleBytes(Take(Length(4, at)).ToArray(), false));
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(new PickleBytes(Take(Byte()).ToArray(), false));
                    break;
                case 0x8e: // BINBYTES8
                    Push(new PickleBytes(Take(Length(8, at)).ToArray(), false));
                    break;
                case 0x96: // BYTEARRAY8
                    Push(new PickleBytes(Take(Length(8, at)).ToArray(), true));
                    break;
                case (byte)')': // EMPTY_TUPLE
                    Push(new PickleTuple([]));
                    break;
                case 0x85: // TUPLE1
                case 0x86: // TUPLE2
                case 0x87: // TUPLE3
                    var n = op - 0x84;
                    if (_stack.Count - StackFloor() < n)
                    {
                        throw Bad(at, $"TUPLE{n} needs {n} values on the stack");
                    }

                    var items = _stack.GetRange(_stack.Count - n, n);
                    _stack.RemoveRange(_stack.Count - n, n);
                    Push(new PickleTuple(items));
                    break;
                case (byte)'t': // TUPLE
                    Push(new PickleTuple(PopMark(at)));
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new PickleList([]));
                    break;
                case (byte)'l': // LIST
                    Push(new PickleList(PopMark(at)));
                    break;
                case (byte)'a': // APPEND
                    var item = Pop(at);
                    Container<PickleList>(Peek(at), at, "APPEND").Items.Add(item);
                    break;
                case (byte)'e': // APPENDS
                    var appended = PopMark(at);
                    Container<PickleList>(Peek(at), at, "APPENDS").Items.AddRange(appended);
                    break;
                case (byte)'}': // EMPTY_DICT
                    Push(new PickleDict([]));
                    break;
                case (byte)'d': // DICT
                    Push(new PickleDict(Pairs(PopMark(at), at)));
                    break;
                case (byte)'s': // SETITEM
                    var value = Pop(at);
                    var key = Pop(at);
                    Container<PickleDict>(Peek(at), at, "SETITEM").Items.Add(new(key, value));
                    break;
                case (byte)'u': // SETITEMS
                    var pairs = Pairs(PopMark(at), at);
                    Container<PickleDict>(Peek(at), at, "SETITEMS").Items.AddRange(pairs);
                    break;
                case 0x8f: // EMPTY_SET
                    Push(new PickleSet([], false));
                    break;
                case 0x90: // ADDITEMS
                    var added = PopMark(at);
                    Container<PickleSet>(Peek(at), at, "ADDITEMS").Items.AddRange(added);
                    break;
                case 0x91: // FROZENSET
                    Push(new PickleSet(PopMark(at), true));
                    break;
                case (byte)'p': // PUT
                    Memo(ParseIndex(Line(), at), at);
                    break;
                case (byte)'q': // BINPUT
                    Memo(Byte(), at);
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at);
                    break;
                case 0x94: // MEMOIZE
                    Memo(_memo.Count, at);
                    break;
                case (byte)'g': // GET
                    Push(Recall(ParseIndex(Line(), at), at));
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(Byte(), at));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at));
                    break;
                case (byte)'c': // GLOBAL: names only, never imported.
                    var module = Line();
                    Push(new PickleGlobal(module, Line()));
                    break;
                case 0x93: // STACK_GLOBAL
                    var name = Pop(at);
                    var from = Pop(at);
                    Push(from is PickleString m && name is PickleString q
                        ? new PickleGlobal(m.Value, q.Value)
                        : throw Bad(at, "STACK_GLOBAL needs a module and a name as strings"));
                    break;
                case (byte)'R': // REDUCE: recorded, never called.
                    var args = Pop(at);
                    Push(new PickleCall(Pop(at), args, false));
                    break;
                case 0x81: // NEWOBJ: cls.__new__(cls, *args), recorded, never called.
                    var newArgs = Pop(at);
                    Push(new PickleCall(Pop(at), newArgs, true));
                    break;
                case (byte)'b': // BUILD: the state is kept beside the call, never applied.
                    var state = Pop(at);
                    Push(Pop(at) is PickleCall call
                        ? call with { State = state }
                        : throw Bad(at, "BUILD on a value that is not an object"));
                    break;
                case (byte)'i':
                    throw Refused(at, "INST", Line() + "." + Line());
                case (byte)'o':
                    throw Refused(at, "OBJ", null);
                case 0x92:
                    throw Refused(at, "NEWOBJ_EX", null);
                case 0x82:
                case 0x83:
                case 0x84:
                    throw Refused(at, "EXT" + (op == 0x82 ? "1" : op == 0x83 ? "2" : "4") + " (an extension-registry import)", null);
                case (byte)'P':
                case (byte)'Q':
                    throw Refused(at, op == 'P' ? "PERSID" : "BINPERSID", null);
                case 0x97:
                case 0x98:
                    throw Bad(at, "out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER) are not stored data");
                default:
                    throw Bad(at, $"opcode 0x{op:x2} is not a pickle opcode");
            }
        }
    }

    private void Push(PickleNode node)
    {
        if (++_items > MaxItems)
        {
            throw new PickleException($"the pickle makes more than {MaxItems:N0} items; larger values are not read");
        }

        _stack.Add(node);
    }

    private int StackFloor() => _marks.Count == 0 ? 0 : _marks.Peek();

    private PickleNode Pop(int at)
    {
        if (_stack.Count <= StackFloor())
        {
            throw Bad(at, "an opcode takes a value from an empty stack");
        }

        var top = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return top;
    }

    private PickleNode Peek(int at) => _stack.Count > StackFloor() ? _stack[^1] : throw Bad(at, "an opcode needs a value and the stack is empty");

    private List<PickleNode> PopMark(int at)
    {
        if (_marks.Count == 0)
        {
            throw Bad(at, "an opcode needs a MARK and there is none");
        }

        var mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private static T Container<T>(PickleNode node, int at, string opcode) where T : PickleNode =>
        node as T ?? throw Bad(at, $"{opcode} on a {node.Kind}, which it cannot add to");

    private static List<KeyValuePair<PickleNode, PickleNode>> Pairs(List<PickleNode> flat, int at)
    {
        if (flat.Count % 2 != 0)
        {
            throw Bad(at, "a dict's items are not in key/value pairs");
        }

        var pairs = new List<KeyValuePair<PickleNode, PickleNode>>(flat.Count / 2);
        for (var i = 0; i < flat.Count; i += 2)
        {
            pairs.Add(new(flat[i], flat[i + 1]));
        }

        return pairs;
    }

    private void Memo(long index, int at)
    {
        if (_memo.Count >= MaxItems && !_memo.ContainsKey(index))
        {
            throw new PickleException($"the pickle's memo holds more than {MaxItems:N0} entries; larger values are not read");
        }

        _memo[index] = Peek(at);
    }

    private PickleNode Recall(long index, int at) =>
        _memo.TryGetValue(index, out var node) ? node : throw Bad(at, $"memo entry {index} is read before it is written");

    private byte Byte() => _position < _data.Length ? _data[_position++] : throw Truncated();

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > _data.Length - _position)
        {
            throw Truncated();
        }

        var span = _data.AsSpan(_position, (int)count);
        _position += (int)count;
        return span;
    }

    private long Length(int width, int at)
    {
        var length = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Take(4)) : BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        return length > (ulong)(_data.Length - _position) ? throw Truncated() : (long)length;
    }

    private string Line()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0)
        {
            throw Truncated();
        }

        var text = Encoding.Latin1.GetString(_data, _position, end - _position);
        _position = end + 1;
        return text;
    }

    private PickleException Truncated() => new($"the pickle ends at byte {_data.Length:N0} in the middle of an opcode (truncated, or not a pickle)");

    private static PickleException Bad(int at, string what) => new($"the pickle is not readable at byte {at:N0}: {what}");

    private static PickleException Refused(int at, string opcode, string? global) =>
        new($"the pickle uses {opcode}{(global is null ? string.Empty : " of " + global)} at byte {at:N0}, which builds an object by running code; ResultGrid never runs it");

    private static BigInteger ParseInt(string text, int at) =>
        BigInteger.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Bad(at, $"'{Clip(text)}' is not an integer");

    private static long ParseIndex(string text, int at) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw Bad(at, $"'{Clip(text)}' is not a memo index");

    private static double ParseFloat(string text, int at) => text.Trim().ToLowerInvariant() switch
    {
        "nan" or "-nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        var t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw Bad(at, $"'{Clip(text)}' is not a float"),
    };

    private static string Utf8(ReadOnlySpan<byte> bytes, int at)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Bad(at, "a str is not valid UTF-8");
        }
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    // Python's raw-unicode-escape: latin-1 text where only \uXXXX and \UXXXXXXXX are escapes.
    private static string RawUnicodeEscape(string line, int at)
    {
        var text = new StringBuilder(line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            var width = line[i] == '\\' && i + 1 < line.Length ? line[i + 1] switch { 'u' => 4, 'U' => 8, _ => 0 } : 0;
            if (width == 0)
            {
                text.Append(line[i]);
                continue;
            }

            if (i + 2 + width > line.Length || !int.TryParse(line.AsSpan(i + 2, width), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code) || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
            {
                throw Bad(at, "a UNICODE string has a broken \\u escape");
            }

            text.Append(char.ConvertFromUtf32(code));
            i += 1 + width;
        }

        return text.ToString();
    }

    // Protocol 0's STRING: repr of a Python 2 str, in single or double quotes, with \x, \n, \\ escapes.
    private static string QuotedString(string line, int at)
    {
        if (line.Length < 2 || line[0] != line[^1] || line[0] is not ('\'' or '"'))
        {
            throw Bad(at, "a STRING is not quoted");
        }

        var body = line[1..^1];
        var text = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\' || i + 1 == body.Length)
            {
                text.Append(body[i]);
                continue;
            }

            var c = body[++i];
            switch (c)
            {
                case 'n': text.Append('\n'); break;
                case 't': text.Append('\t'); break;
                case 'r': text.Append('\r'); break;
                case '\\': text.Append('\\'); break;
                case '\'': text.Append('\''); break;
                case '"': text.Append('"'); break;
                case 'x' when i + 2 < body.Length && byte.TryParse(body.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b):
                    text.Append((char)b);
                    i += 2;
                    break;
                default: text.Append('\\').Append(c); break;
            }
        }

        return text.ToString();
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

/// <summary>A pickle that is not readable plain data: what is wrong, for the caller to put beside the record's id.</summary>
internal sealed class PickleException(string message) : Exception(message);
