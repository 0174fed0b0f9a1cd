namespace ResultGrid.Tests;

public sealed record Line(string Sku, int Quantity, decimal Price);
