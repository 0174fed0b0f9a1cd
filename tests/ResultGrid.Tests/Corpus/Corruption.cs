using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// One corruption of a stored record: how to damage a good SUCCESS record in place (raw SQL on
/// the test's own connection, raw Redis commands), the stored field that must be named, the state
/// the record must read as, and whether the store itself can see the damage (a payload whose bytes
/// only the serializer can judge is the client's ResultDecodeException, not a store problem).
/// </summary>
public sealed record Corruption(string Name, string Field, string? State, bool StoreSees = true, bool WholeRecord = false)
{
    /// <summary>SQL: an UPDATE of the task's row, <c>{t}</c> the table, <c>@id</c> the task id, <c>@v</c> <see cref="Value"/>.</summary>
    public string? Sql { get; init; }

    public object? Value { get; init; }

    /// <summary>SQL run first on the same connection (MariaDB: a permissive sql_mode to store what strict mode refuses).</summary>
    public string? Prelude { get; init; }

    /// <summary>Redis: the damage, given the database, the key and the good document as stored.</summary>
    public Func<IDatabase, RedisKey, JsonObject, Task>? Redis { get; init; }

    /// <summary>
    /// False where the damaged value still says SUCCESS where the write rule looks (the head of a
    /// truncated Redis document): a write never replaces what claims to be a SUCCESS.
    /// </summary>
    public bool Rewritable { get; init; } = true;
}
