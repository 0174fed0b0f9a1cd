namespace ResultGrid.Tests.Browser;

/// <summary>
/// The browser tests: one collection, so they share one browser and the dashboard's silos and
/// run one at a time (xUnit runs a collection's tests in sequence).
/// </summary>
[CollectionDefinition(Name)]
public sealed class BrowserSuite : ICollectionFixture<BrowserFixture>, ICollectionFixture<DashboardSilos>
{
    public const string Name = "Browser";
}
