namespace ResultGrid.Tests;

/// <summary>Every kind of value the codecs promise to carry.</summary>
public sealed record Order(
    Guid Id,
    DateTime CreatedUtc,
    DateTimeOffset Due,
    decimal Total,
    byte[] Signature,
    Priority Priority,
    int? Discount,
    string? Note,
    Dictionary<string, int> Counts,
    List<Line> Lines)
{
    public static Order Sample(int lines = 3) => new(
        Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
        new DateTime(2026, 11, 24, 10, 16, 23, 442, DateTimeKind.Utc),
        new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.FromHours(2)),
        1234.5678m,
        [0, 1, 2, 250, 255],
        Priority.High,
        null,
        "ünïcødé",
        new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 },
        Enumerable.Range(0, lines).Select(i => new Line($"SKU-{i % 7}", i, 9.99m)).ToList());

    public bool SameAs(Order other) =>
        Id == other.Id && CreatedUtc == other.CreatedUtc && CreatedUtc.Kind == DateTimeKind.Utc && Due == other.Due && Due.Offset == other.Due.Offset &&
        Total == other.Total && Signature.SequenceEqual(other.Signature) && Priority == other.Priority && Discount == other.Discount && Note == other.Note &&
        Counts.OrderBy(p => p.Key).SequenceEqual(other.Counts.OrderBy(p => p.Key)) && Lines.SequenceEqual(other.Lines);
}
