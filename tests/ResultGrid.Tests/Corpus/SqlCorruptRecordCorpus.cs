using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>The SQL cases: the damage is an UPDATE on a connection of the test's own, as a foreign writer's would be.</summary>
public abstract class SqlCorruptRecordCorpus(ResultCluster cluster) : CorruptRecordCorpus(cluster)
{
    private readonly ResultCluster _cluster = cluster;

    protected override bool Searchable => true;

    protected override Task CorruptAsync(Corruption corruption, string taskId) => Damage.SqlAsync(_cluster, corruption, taskId);

    private static readonly string[] TransferDamage = ["children-not-json", "state-empty", "state-too-long"];

    /// <summary>A migration's read of the table copies every good row and reports each damaged one, with its field, as not copied.</summary>
    [Fact]
    public async Task A_transfer_reports_damaged_rows_as_not_copied_and_reads_the_rest()
    {
        var prefix = $"xfer-{Guid.NewGuid():N}";
        var damaged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var corruption in TransferDamage.Select(n => Find("postgresql", n)))
        {
            var id = $"{prefix}-{corruption.Name}";
            await _cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
            await CorruptAsync(corruption, id);
            damaged[id] = corruption.Field;
        }

        var good = $"{prefix}-good";
        await _cluster.External.MarkSucceededAsync(good, 1, cancellationToken: Ct);
        Assert.True(_cluster.Store(0).TryGetCapability<IResultTransfer>(out var transfer), "the SQL store reports IResultTransfer");
        var items = new List<string>();
        var problems = new List<TransferProblem>();
        string? cursor = null;
        do
        {
            var page = await transfer.ReadResultsAsync(cursor, 1000, Ct);
            items.AddRange(page.Items.Select(i => i.TaskId).Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
            problems.AddRange(page.Problems.Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal([good], items);
        Assert.Equal(damaged.Keys.Order(StringComparer.Ordinal), problems.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.Contains($"'{damaged[p.Id]}'", p.Reason, StringComparison.Ordinal));
    }
}
