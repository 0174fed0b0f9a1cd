using System.Numerics;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// A value read from a pickle. Plain data is a value; <see cref="PickleGlobal"/> and
/// <see cref="PickleCall"/> are only names and arguments, symbolic, never resolved: what a
/// Python unpickler would have imported and called.
/// </summary>
internal abstract record PickleNode
{
    /// <summary>What the value is, in Python's words, for messages.</summary>
    public abstract string Kind { get; }
}

internal sealed record PickleNone : PickleNode
{
    public static readonly PickleNone Value = new();
    public override string Kind => "None";
}

internal sealed record PickleBool(bool Value) : PickleNode
{
    public static readonly PickleBool True = new(true);
    public static readonly PickleBool False = new(false);
    public override string Kind => "bool";
}

internal sealed record PickleInt(BigInteger Value) : PickleNode
{
    public override string Kind => "int";
}

internal sealed record PickleFloat(double Value) : PickleNode
{
    public override string Kind => "float";
}

internal sealed record PickleString(string Value) : PickleNode
{
    public override string Kind => "str";
}

internal sealed record PickleBytes(byte[] Value, bool Mutable) : PickleNode
{
    public override string Kind => Mutable ? "bytearray" : "bytes";
}

// Containers are mutable, as in the unpickler: APPEND and SETITEM fill them after they are
// memoised, and a memo reference sees the filled container.
internal sealed record PickleList(List<PickleNode> Items) : PickleNode
{
    public override string Kind => "list";
}

internal sealed record PickleTuple(List<PickleNode> Items) : PickleNode
{
    public override string Kind => "tuple";
}

internal sealed record PickleDict(List<KeyValuePair<PickleNode, PickleNode>> Items) : PickleNode
{
    public override string Kind => "dict";
}

internal sealed record PickleSet(List<PickleNode> Items, bool Frozen) : PickleNode
{
    public override string Kind => Frozen ? "frozenset" : "set";
}

/// <summary>A module-level name (GLOBAL, STACK_GLOBAL): only its text.</summary>
internal sealed record PickleGlobal(string Module, string Name) : PickleNode
{
    public override string Kind => "global";

    /// <summary>Python 2's module names (pickle protocols 0 to 2 write them) as Python 3's.</summary>
    public string Python3Module => Module switch
    {
        "__builtin__" or "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        _ => Module,
    };

    public string FullName => Python3Module + "." + Name;
}

/// <summary>A call a Python unpickler would make (REDUCE, NEWOBJ), with the BUILD state after it: recorded, never made.</summary>
internal sealed record PickleCall(PickleNode Callable, PickleNode Arguments, bool NewObject) : PickleNode
{
    public PickleNode? State { get; init; }

    public override string Kind => Callable is PickleGlobal g ? "instance of " + g.FullName : "object";

    /// <summary>The callable's name when it is a global (it always is in a pickle Python wrote).</summary>
    public PickleGlobal? Global => Callable as PickleGlobal;

    /// <summary>The positional arguments when they are a tuple.</summary>
    public IReadOnlyList<PickleNode>? Args => Arguments is PickleTuple t ? t.Items : null;
}
