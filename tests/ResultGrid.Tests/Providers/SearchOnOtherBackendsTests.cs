namespace ResultGrid.Tests;

[Trait("Backend", "memory")]
public sealed class SearchOnOtherBackendsTests(MemoryCluster cluster)
{
    [Fact]
    public async Task A_backend_that_expires_by_itself_reports_nothing_to_sweep()
    {
        var report = await cluster.External.SweepExpiredAsync(TestContext.Current.CancellationToken);
        Assert.False(report.Swept);
        Assert.Equal("memory", report.Backend);
    }

    [Fact]
    public async Task A_backend_without_tables_says_searching_needs_a_SQL_backend()
    {
        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => cluster.External.QueryAsync(new ResultQuery(), TestContext.Current.CancellationToken));
        Assert.Contains("db+postgresql://", ex.Message, StringComparison.Ordinal);
        Assert.Contains("memory", ex.Message, StringComparison.Ordinal);
    }
}
