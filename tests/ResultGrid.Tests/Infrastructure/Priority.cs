namespace ResultGrid.Tests;

public enum Priority
{
    Low,
    High,
}
