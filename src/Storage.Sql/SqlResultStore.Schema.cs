using System.Data.Common;
using System.Globalization;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// The schema at start-up: the dialect's start-up statements, the tables created (when
/// CreateTables is on), and the version row checked, so a silo never runs on tables it does not know.
/// </summary>
internal sealed partial class SqlResultStore
{
    /// <summary>Prepares the database and returns the tables' schema version; throws, saying what to do, where the silo must not start.</summary>
    private async Task<int> PrepareSchemaAsync(CancellationToken cancellationToken)
    {
        int? version;
        try
        {
            if (_dialect.StartupStatements.Count > 0)
            {
                await Run("connect", async c =>
                {
                    foreach (var statement in _dialect.StartupStatements)
                    {
                        await Execute(c, statement);
                    }

                    return true;
                }, cancellationToken);
            }

            if (_settings.Options.CreateTables)
            {
                await CreateTablesAsync(cancellationToken);
            }

            version = await Run("read the schema version", async c =>
            {
                await using var command = Command(c, $"SELECT version FROM {_tables.Version} WHERE table_name = @p0");
                Add(command, 0, _settings.Options.TaskTable);
                return await command.ExecuteScalarAsync(cancellationToken) is { } v and not DBNull ? Convert.ToInt32(v, CultureInfo.InvariantCulture) : (int?)null;
            }, cancellationToken);
        }
        catch (DbException ex) when (!_dialect.IsTransient(ex))
        {
            throw new InvalidOperationException(
                $"The SQL result store could not use the {Display}{(_settings.User is { } u ? $" as user '{u}'" : string.Empty)}: {ex.Message}" +
                (_settings.Options.CreateTables ? string.Empty : $" (CreateTables is off: the tables {_tables.Tasks}, {_tables.Groups} and {_tables.Version} must exist.)"), ex);
        }

        if (version is null)
        {
            throw new InvalidOperationException($"The {Display} has no schema version for table {_tables.Tasks}: it was not created by ResultGrid. Turn CreateTables on, or create the tables with ResultGrid's DDL.");
        }

        if (version > SqlDialect.SchemaVersion)
        {
            throw new InvalidOperationException($"The table {_tables.Tasks} in the {Display} is at schema version {version}, written by a newer ResultGrid; this release knows version {SqlDialect.SchemaVersion}. Upgrade the silo.");
        }

        return version.Value;
    }

    /// <summary>
    /// The DDL is idempotent, but two silos starting together can still race inside the
    /// database's catalog (PostgreSQL reports a duplicate type): run it again until it passes.
    /// </summary>
    private async Task CreateTablesAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Run("create tables", async c =>
                {
                    foreach (var statement in _dialect.CreateSchema(_tables, _settings.Options.Schema))
                    {
                        await Execute(c, statement);
                    }

                    await using var command = Command(c, _dialect.InsertVersion(_tables));
                    Add(command, 0, _settings.Options.TaskTable);
                    Add(command, 1, SqlDialect.SchemaVersion);
                    return await command.ExecuteNonQueryAsync(cancellationToken);
                }, cancellationToken);
                return;
            }
            // A wrong password or a missing database will not pass on a second try.
            catch (DbException ex) when (attempt < 5 && !_dialect.IsTransient(ex) && !_dialect.IsAccessProblem(ex))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), _time, cancellationToken);
            }
        }
    }
}
