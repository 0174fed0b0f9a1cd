namespace ResultGrid;

/// <summary>The one meter every ResultGrid instrument belongs to, in the silo and the storage layer alike.</summary>
public static class ResultGridMeter
{
    /// <summary>The meter's name: <c>AddMeter("ResultGrid")</c> in OpenTelemetry, <c>dotnet-counters monitor --counters ResultGrid</c>.</summary>
    public const string Name = "ResultGrid";
}
