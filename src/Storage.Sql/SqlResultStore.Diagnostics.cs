using System.Data.Common;
using System.Globalization;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// What <c>resultgrid doctor</c> and <c>resultgrid inspect</c> ask: the server and its tables,
/// indexes and schema version, and a row as the database holds it, column by column.
/// </summary>
internal sealed partial class SqlResultStore
{
    /// <summary>Server version, the store's tables and their schema version, and what the dialect adds (MySQL: the server's default isolation).</summary>
    public async Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var facts = new List<BackendFact>
        {
            new(BackendFactIds.ServerVersion, "server version", await Scalar(_dialect.ServerVersionQuery) ?? "?"),
        };
        var tablesPresent = true;
        foreach (var table in new[] { _tables.Tasks, _tables.Groups, _tables.Claims, _tables.Version })
        {
            try
            {
                await Scalar($"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) t");
                facts.Add(new BackendFact(BackendFactIds.Table, "table " + Unquoted(table), "present"));
            }
            catch (DbException ex)
            {
                tablesPresent = false;
                facts.Add(new BackendFact(BackendFactIds.Table, "table " + Unquoted(table), "missing: " + ex.Message, FactLevel.Failure, "Start a silo with ResultGrid:Sql:CreateTables on, or create the tables with ResultGrid's DDL."));
            }
        }

        // Missing tables already say it all (and there is no version row to read); with the
        // tables there, an index dropped by hand (or lost in a copy) turns each sweep, or each
        // search, into a scan of the whole table.
        if (tablesPresent)
        {
            facts.AddRange(await DescribeIndexesAsync(cancellationToken));
            var version = await Scalar($"SELECT version FROM {_tables.Version} WHERE table_name = '{_settings.Options.TaskTable}'");
            facts.Add(new BackendFact(BackendFactIds.SchemaVersion, "schema version", version ?? "none", version == SqlDialect.SchemaVersion.ToString(CultureInfo.InvariantCulture) ? FactLevel.Ok : FactLevel.Failure,
                version is null ? "The tables were not created by ResultGrid." : null));
        }

        facts.AddRange(await _dialect.DescribeServerAsync(Scalar));
        return facts;

        async Task<string?> Scalar(string sql) =>
            await Run("describe", async c =>
            {
                await using var command = Command(c, sql);
                return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
            }, cancellationToken);
    }

    /// <summary>The names of the indexes in the tables' schema (or database, or file), as the database keeps them.</summary>
    private ValueTask<HashSet<string>> PresentIndexesAsync(CancellationToken cancellationToken) =>
        Run("describe", async c =>
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            await using var command = Command(c, _dialect.IndexNames(_settings.Options));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                names.Add(reader.GetString(OnlyColumn));
            }

            return names;
        }, cancellationToken);

    /// <summary>Whether the indexes the DDL creates exist: the sweep's (expires_at) and the searches'.</summary>
    private async Task<IEnumerable<BackendFact>> DescribeIndexesAsync(CancellationToken cancellationToken)
    {
        var present = await PresentIndexesAsync(cancellationToken);
        return SqlDialect.Indexes(_tables).GroupBy(i => i.Cleanup).OrderByDescending(g => g.Key).Select(group =>
        {
            var cleanup = group.Key;
            var expected = group.ToList();
            var missing = expected.Where(i => !present.Contains(_dialect.StoredName(i.Name))).ToList();
            var name = cleanup ? "cleanup indexes" : "query indexes";
            if (missing.Count == 0)
            {
                return new BackendFact(cleanup ? BackendFactIds.CleanupIndexes : BackendFactIds.QueryIndexes, name, $"all {expected.Count} present");
            }

            var cost = cleanup
                ? "Without them every sweep reads whole tables to find expired rows, holding locks that writers wait on."
                : "Without them searches by state, name, group or date read the whole table.";
            return new BackendFact(cleanup ? BackendFactIds.CleanupIndexes : BackendFactIds.QueryIndexes, name, "missing: " + string.Join(", ", missing.Select(i => $"{i.Name} on {Unquoted(i.Table)} ({i.Columns})")), FactLevel.Warning,
                $"{cost} Create them: {string.Join("; ", missing.Select(i => _dialect.CreateIndex(i, ifNotExists: false)))}.");
        }).ToList();
    }

    // A table's name for people: without the dialect's quotes (PostgreSQL's and SQLite's ", MySQL's `).
    private static string Unquoted(string name) => name.Replace("\"", string.Empty, StringComparison.Ordinal).Replace("`", string.Empty, StringComparison.Ordinal);

    /// <summary>The row as the database holds it, column by column, each value as the driver gives it (text, bytes, time, number).</summary>
    public ValueTask<RawRecord?> ReadRawAsync(string taskId, CancellationToken cancellationToken = default) =>
        ReadOneAsync("read raw", $"SELECT {TaskColumn.List} FROM {_tables.Tasks} WHERE task_id = @p0", taskId, RawRow, (RawRecord?)null, cancellationToken);

    /// <summary>A row of <see cref="TaskColumn.List"/>, each value rendered as the driver hands it over.</summary>
    private RawRecord RawRow(DbDataReader reader)
    {
        var fields = new List<RawField>(TaskColumn.Count);
        for (var i = 0; i < TaskColumn.Count; i++)
        {
            string? value;
            try
            {
                value = RawField.Render(reader.GetValue(i));
            }
            catch (Exception ex) when (RecordReader.IsDecodeFailure(ex))
            {
                // A value the driver itself cannot hand over (MariaDB's zero DATETIME): say so.
                value = $"(the {Backend} driver cannot read it: {ex.Message})";
            }

            fields.Add(new RawField(TaskColumn.Names[i], value));
        }

        return new RawRecord($"{Display}, table {_tables.Tasks}", fields);
    }
}
