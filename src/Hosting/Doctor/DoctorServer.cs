using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting.Doctor;

/// <summary>
/// The checks that ask the results backend's server (skipped with --offline): Redis persistence
/// and eviction, MySQL's default isolation, and the SQL tables and indexes. It only looks: the
/// store is opened with table creation off, so doctor never changes the database it examines.
/// </summary>
internal static class DoctorServer
{
    public static async Task<IReadOnlyList<DoctorFinding>> CheckAsync(DoctorChecks checks, DoctorConfiguration config, CancellationToken cancellationToken)
    {
        var findings = new List<DoctorFinding>();
        if (checks.Results is not { } backend || backend.Url.Scheme is "memory" or "rpc")
        {
            return findings; // in the cluster's own memory: no server to ask
        }

        var source = config.SourceOf(backend.Key) ?? "default";
        DoctorFinding Finding(string id, DoctorSeverity severity, string found, string fix) => new(id, severity, backend.Key, source, DoctorChecks.OneLine(found), fix);

        SqlBackendDescription? sql = null;
        if (SqlBackendInspection.Handles(backend.Url) && checks.Sql is not null)
        {
            sql = SqlBackendInspection.Describe(backend.Url, checks.Sql);
            if (sql.FilePath is { } file && !File.Exists(file))
            {
                // Opening it would create it: say what the silo will do instead.
                findings.Add(TablesMissing($"The SQLite file {file} does not exist yet (a relative path resolves against the working directory: doctor's here, the silo's when it runs)."));
                return findings;
            }
        }

        // Admin commands for the server's facts; tables never created: doctor changes nothing it examines.
        await using var opened = OperatorStore.Create("doctor", backend.Url.Original, config.Root, allowAdmin: true, readOnly: true, out _);
        if (opened is null)
        {
            return findings; // a URL the providers refuse is a config-invalid finding already
        }

        var store = opened.Store;

        Exception? refused = null;
        try
        {
            await store.InitializeAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            refused = ex;
        }

        IReadOnlyList<BackendFact>? facts = null;
        // A SQL server that answers may still refuse to open the store (tables not created yet):
        // its facts say which. A Redis that refused has nothing more to say.
        if (store.TryGetCapability<IBackendDiagnostics>(out var diagnostics) && (refused is null || sql is not null))
        {
            try
            {
                facts = await diagnostics.DescribeAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (refused is null)
                {
                    findings.Add(Finding(DoctorIds.ServerFact, DoctorSeverity.Warning, $"Connected to {backend.Url.Redacted}, but could not read the server's settings: {StartupErrors.OneLine(ex)}",
                        "Let the user run INFO and CONFIG GET (Redis) or read the catalog (SQL), or run `resultgrid check` as a user who may."));
                }
            }
        }

        var missingTables = new List<string>();
        foreach (var fact in facts ?? [])
        {
            if (fact.Level == FactLevel.Ok && fact.Advice is null)
            {
                continue;
            }

            if (fact.Id == BackendFactIds.Table)
            {
                missingTables.Add(fact.Name.StartsWith("table ", StringComparison.Ordinal) ? fact.Name["table ".Length..] : fact.Name);
                continue;
            }

            // Matched by the fact's stable id; its name is for people (and carries the endpoint, or the dual-write side).
            findings.Add(fact.Id switch
            {
                BackendFactIds.Persistence =>
                    Finding(DoctorIds.RedisNoPersistence, DoctorSeverity.Warning, $"Redis {fact.Name}: {fact.Value}.", fact.Advice ?? string.Empty),
                BackendFactIds.Eviction =>
                    Finding(DoctorIds.RedisEviction, DoctorSeverity.Warning, $"Redis {fact.Name}: {fact.Value}.", fact.Advice ?? string.Empty),
                BackendFactIds.DefaultIsolation =>
                    Finding(DoctorIds.MySqlIsolation, DoctorSeverity.Info,
                        $"The server's default isolation is {fact.Value}. ResultGrid's writes set {sql?.Options.MySqlIsolationLevel} themselves, and its reads are single autocommit statements, " +
                        "which see every committed write at any level: only other programs writing these tables get the default.",
                        "Nothing to do for ResultGrid. For other writers of these tables, set transaction_isolation = 'READ-COMMITTED' on the server or in their connections."),
                BackendFactIds.CleanupIndexes => Finding(DoctorIds.MissingCleanupIndex, DoctorSeverity.Warning, $"Cleanup indexes {fact.Value}.", fact.Advice ?? string.Empty),
                BackendFactIds.QueryIndexes => Finding(DoctorIds.MissingQueryIndex, DoctorSeverity.Warning, $"Query indexes {fact.Value}.", fact.Advice ?? string.Empty),
                BackendFactIds.SchemaVersion => Finding(DoctorIds.SchemaVersion, DoctorSeverity.Error, $"Schema version {fact.Value}, where this release knows {SqlBackendInspection.SchemaVersion}.", fact.Advice ?? "Upgrade the silo, or point it at ResultGrid's own tables."),
                _ => Finding(DoctorIds.ServerFact, fact.Level == FactLevel.Failure ? DoctorSeverity.Error : DoctorSeverity.Warning, $"{fact.Name}: {fact.Value}.", fact.Advice ?? string.Empty),
            });
        }

        if (missingTables.Count > 0)
        {
            findings.Add(TablesMissing($"The tables {string.Join(", ", missingTables)} are not in the {sql?.Display} yet."));
        }
        else if (refused is not null && !findings.Any(f => f.Severity == DoctorSeverity.Error))
        {
            findings.Add(Finding(DoctorIds.BackendUnreachable, DoctorSeverity.Error, $"{backend.Url.Redacted}: {StartupErrors.OneLine(refused)}",
                "Check that the server runs and listens there: host, port, firewall, and the credentials (RESULTGRID__REDIS__PASSWORD, RESULTGRID__SQL__PASSWORD). " +
                "`resultgrid check <backend-url>` exercises it; --offline skips the checks that need it."));
        }

        return findings;

        DoctorFinding TablesMissing(string found) => sql?.Options.CreateTables != false
            ? Finding(DoctorIds.TablesMissing, DoctorSeverity.Info, found, "Nothing to do: the silo creates the tables and their indexes when it starts (ResultGrid:Sql:CreateTables is on).")
            : Finding(DoctorIds.TablesMissing, DoctorSeverity.Error, found, "ResultGrid:Sql:CreateTables is off, so the silo will not start: turn it on for one start, or create the tables with ResultGrid's DDL.");
    }
}
