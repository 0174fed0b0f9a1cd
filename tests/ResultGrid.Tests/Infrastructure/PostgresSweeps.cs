namespace ResultGrid.Tests;

[CollectionDefinition(Name)]
public sealed class PostgresSweeps
{
    public const string Name = "postgres-sweeps";
}
