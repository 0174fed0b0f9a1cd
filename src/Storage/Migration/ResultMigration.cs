using System.Text.Json;
using System.Text.Json.Serialization;

namespace ResultGrid.Storage.Migration;

/// <summary>
/// Where a copy stands, saved after every page that completes in order, so that a copy killed
/// at any point resumes from it: the phase, the source cursor after the last page fully copied,
/// and the counts up to that page.
/// </summary>
public sealed class MigrationState
{
    public const string Results = "results";
    public const string Groups = "groups";
    public const string Done = "done";

    /// <summary>The two backends, passwords hidden: a state file is only ever resumed between the same two.</summary>
    public required string From { get; init; }
    public required string To { get; init; }

    public string Phase { get; set; } = Results;
    public string? Cursor { get; set; }
    public long ResultsScanned { get; set; }
    public long ResultsAdded { get; set; }
    public long GroupsScanned { get; set; }
    public long GroupsAdded { get; set; }
    public long ProblemCount { get; set; }

    /// <summary>Of <see cref="ProblemCount"/>, the results (not groups) that could not be read.</summary>
    public long ResultProblemCount { get; set; }

    /// <summary>Results scanned that the target already held live (neither added nor unreadable).</summary>
    public long ResultsAlreadyPresent => ResultsScanned - ResultsAdded - ResultProblemCount;

    /// <summary>The first stored entries that could not be read (at most <see cref="MaxListed"/>).</summary>
    public List<TransferProblem> Problems { get; init; } = [];

    /// <summary>How many runs this copy took (1, or more after interruptions).</summary>
    public int Runs { get; set; }

    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public const int MaxListed = 100;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// The state to go on from: the saved one when it is an unfinished copy between the same two
    /// backends, a new one when there is none or the saved copy finished.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file belongs to another pair of backends, or is not a state file.</exception>
    public static MigrationState LoadOrStart(string path, string from, string to, DateTimeOffset now)
    {
        if (File.Exists(path))
        {
            MigrationState? saved;
            try
            {
                saved = JsonSerializer.Deserialize<MigrationState>(File.ReadAllText(path), Json);
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException($"The state file {path} is not a migration state ({ex.Message}); delete it or give another --state.", ex);
            }

            if (saved is not null && (saved.From != from || saved.To != to))
            {
                throw new InvalidOperationException($"The state file {path} belongs to a migration from {saved.From} to {saved.To}, not from {from} to {to}; give another --state or delete it.");
            }

            if (saved is { Phase: not Done })
            {
                return saved;
            }
        }

        return new MigrationState { From = from, To = to, StartedAt = now, UpdatedAt = now };
    }

    /// <summary>Replaces the file in one rename, so a kill never leaves half a state behind.</summary>
    public void Save(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public void Note(IReadOnlyList<TransferProblem> problems, bool results)
    {
        ProblemCount += problems.Count;
        ResultProblemCount += results ? problems.Count : 0;
        Problems.AddRange(problems.Take(MaxListed - Problems.Count));
    }
}

/// <summary>How a copy is told to run.</summary>
public sealed record MigrationSettings
{
    /// <summary>Records per page read from the source.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Pages imported at once.</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Where the state is saved; null: nowhere (not resumable).</summary>
    public string? StatePath { get; init; }
}

/// <summary>What the progress display is told after each page.</summary>
public readonly record struct MigrationProgress(string Phase, long Scanned, long Added, long Problems);

/// <summary>A result that differs between the backends after a copy.</summary>
public sealed record RecordDifference(string Id, string What, string? SourceChecksum, string? TargetChecksum);

/// <summary>The verify pass: counts, and every record that is missing or differs.</summary>
public sealed record VerifyReport
{
    public long SourceResults { get; init; }
    public long TargetResultsMatching { get; init; }
    public long SourceGroups { get; init; }
    public long TargetGroupsMatching { get; init; }
    public long Missing { get; init; }
    public long Different { get; init; }

    /// <summary>The first differences found (at most <see cref="MigrationState.MaxListed"/>).</summary>
    public IReadOnlyList<RecordDifference> Differences { get; init; } = [];

    public bool Passed => Missing == 0 && Different == 0;
}

/// <summary>
/// Copies every unexpired result and group from one backend to another with its remaining TTL,
/// resumably, then verifies the copy record by record. The target gains only what it lacks, so
/// a migration can run while silos write to both backends (dual-write) without ever replacing
/// a newer result with an older one.
/// </summary>
public sealed class ResultMigration(IResultTransfer source, IResultTransfer target, IResultStore targetStore, TimeProvider time)
{
    /// <summary>Two records' expiries may differ by this much: each backend rounds an instant its own way (Redis to the millisecond).</summary>
    public static readonly TimeSpan ExpiryTolerance = TimeSpan.FromSeconds(1);

    public async Task<MigrationState> CopyAsync(MigrationState state, MigrationSettings settings, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(settings);
        state.Runs++;
        Save(state, settings);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        if (state.Phase == MigrationState.Results)
        {
            // A fresh copy into an empty target builds the target's indexes once at the end
            // instead of row by row: most of a SQL target's work. A resumed copy never drops them
            // (the target holds results), and rebuilds any an interrupted run left dropped.
            var bulk = targetStore.Capability<IBulkLoadTarget>();
            if (bulk is not null && state.Cursor is null && state.ResultsScanned == 0)
            {
                var begin = MigrationTimings.Start();
                await bulk.BeginBulkLoadAsync(cancellationToken);
                MigrationTimings.Stop("bulk.begin", begin);
            }

            var results = MigrationTimings.Start();

            await CopyPhaseAsync(
                state, settings, progress, MigrationState.Groups,
                (cursor, ct) => source.ReadResultsAsync(cursor, settings.BatchSize, ct),
                (items, ct) => target.ImportResultsAsync(items, ct),
                (scanned, added) => (state.ResultsScanned += scanned, state.ResultsAdded += added),
                cancellationToken);
            MigrationTimings.Stop("results phase", results);
        }

        // After the results phase, also when a kill between its last save and this line left a
        // resumed run starting at the groups: creates only what is missing.
        if (targetStore.Capability<IBulkLoadTarget>() is { } bulkTarget)
        {
            var end = MigrationTimings.Start();
            await bulkTarget.EndBulkLoadAsync(cancellationToken);
            MigrationTimings.Stop("bulk.end", end);
        }

        if (state.Phase == MigrationState.Groups)
        {
            await CopyPhaseAsync(
                state, settings, progress, MigrationState.Done,
                (cursor, ct) => source.ReadGroupsAsync(cursor, settings.BatchSize, ct),
                (items, ct) => target.ImportGroupsAsync(items, ct),
                (scanned, added) => (state.GroupsScanned += scanned, state.GroupsAdded += added),
                cancellationToken);
        }

        MigrationTimings.Report("copy", wall.Elapsed);
        return state;
    }

    /// <summary>
    /// One phase (results, then groups): pages from the saved cursor, each counted and the state
    /// saved once it and every page before it are imported; then the next phase from its start.
    /// </summary>
    private async Task CopyPhaseAsync<T>(
        MigrationState state,
        MigrationSettings settings,
        IProgress<MigrationProgress>? progress,
        string nextPhase,
        Func<string?, CancellationToken, ValueTask<TransferPage<T>>> read,
        Func<IReadOnlyList<T>, CancellationToken, ValueTask<int>> import,
        Func<int, int, (long Scanned, long Added)> count,
        CancellationToken cancellationToken)
    {
        await TransferPipeline.RunAsync<T, int>(
            state.Cursor,
            read,
            (page, ct) => import(page.Items, ct),
            (page, added, next) =>
            {
                var phase = state.Phase;
                var (scanned, total) = count(page.Scanned, added);
                state.Note(page.Problems, phase == MigrationState.Results);
                state.Cursor = next;
                if (next is null)
                {
                    // The last page moves on to the next phase in the same save: a kill right
                    // after it must not find "this phase, from the start" and copy it all again.
                    state.Phase = nextPhase;
                }

                Save(state, settings);
                progress?.Report(new MigrationProgress(phase, scanned, total, state.ProblemCount));
                return ValueTask.CompletedTask;
            },
            settings.Parallelism,
            cancellationToken);
        state.Phase = nextPhase;
        state.Cursor = null;
        Save(state, settings);
    }

    private void Save(MigrationState state, MigrationSettings settings)
    {
        state.UpdatedAt = time.GetUtcNow();
        if (settings.StatePath is { } path)
        {
            state.Save(path);
        }
    }

    /// <summary>
    /// Reads every unexpired source record again and the same ids from the target, and compares
    /// checksums and expiries. A record that expires during the pass is not counted missing.
    /// </summary>
    public async Task<VerifyReport> VerifyAsync(MigrationSettings settings, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        long sourceResults = 0, matching = 0, missing = 0, different = 0, sourceGroups = 0, groupsMatching = 0;
        var listed = new List<RecordDifference>();
        void Record(RecordDifference difference, bool isMissing)
        {
            if (isMissing)
            {
                missing++;
            }
            else
            {
                different++;
            }

            if (listed.Count < MigrationState.MaxListed)
            {
                listed.Add(difference);
            }
        }

        await TransferPipeline.RunAsync<TaskResult, TaskResult?[]>(
            null,
            (cursor, ct) => source.ReadResultsAsync(cursor, settings.BatchSize, ct),
            async (page, ct) => await targetStore.ReadManyAsync(page.Items.Select(r => r.TaskId).ToArray(), ct),
            (page, copies, _) =>
            {
                var now = time.GetUtcNow();
                for (var i = 0; i < page.Items.Count; i++)
                {
                    var original = page.Items[i];
                    var copy = copies[i];
                    sourceResults++;
                    if (copy is null)
                    {
                        if (!(original.ExpiresAt is { } at && at <= now + ExpiryTolerance))
                        {
                            Record(new RecordDifference(original.TaskId, "missing in the target", RecordDigest.Of(original), null), isMissing: true);
                        }

                        continue;
                    }

                    var (sourceSum, targetSum) = (RecordDigest.Of(original), RecordDigest.Of(copy));
                    var fields = sourceSum == targetSum ? [] : RecordDigest.Differences(original, copy).ToList();
                    if (!SameExpiry(original.ExpiresAt, copy.ExpiresAt))
                    {
                        fields.Add($"expiry ({Describe(original.ExpiresAt)} vs {Describe(copy.ExpiresAt)})");
                    }

                    if (fields.Count == 0)
                    {
                        matching++;
                    }
                    else
                    {
                        Record(new RecordDifference(original.TaskId, "differs: " + string.Join(", ", fields), sourceSum, targetSum), isMissing: false);
                    }
                }

                progress?.Report(new MigrationProgress("verify", sourceResults, matching, missing + different));
                return ValueTask.CompletedTask;
            },
            settings.Parallelism,
            cancellationToken);

        await TransferPipeline.RunAsync<GroupMeta, GroupMeta?[]>(
            null,
            (cursor, ct) => source.ReadGroupsAsync(cursor, settings.BatchSize, ct),
            async (page, ct) => await Task.WhenAll(page.Items.Select(g => targetStore.ReadGroupAsync(g.GroupId, ct).AsTask())),
            (page, copies, _) =>
            {
                for (var i = 0; i < page.Items.Count; i++)
                {
                    sourceGroups++;
                    var (original, copy) = (page.Items[i], copies[i]);
                    var (sourceSum, targetSum) = (RecordDigest.Of(original), copy is null ? null : RecordDigest.Of(copy));
                    if (copy is null)
                    {
                        if (!(original.ExpiresAt is { } at && at <= time.GetUtcNow() + ExpiryTolerance))
                        {
                            Record(new RecordDifference(original.GroupId, "group missing in the target", sourceSum, null), isMissing: true);
                        }
                    }
                    else if (sourceSum != targetSum || !SameExpiry(original.ExpiresAt, copy.ExpiresAt))
                    {
                        Record(new RecordDifference(original.GroupId, "group differs", sourceSum, targetSum), isMissing: false);
                    }
                    else
                    {
                        groupsMatching++;
                    }
                }

                return ValueTask.CompletedTask;
            },
            settings.Parallelism,
            cancellationToken);

        return new VerifyReport
        {
            SourceResults = sourceResults,
            TargetResultsMatching = matching,
            SourceGroups = sourceGroups,
            TargetGroupsMatching = groupsMatching,
            Missing = missing,
            Different = different,
            Differences = listed,
        };
    }

    private static bool SameExpiry(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null == b is null && (a is null || (a.Value - b!.Value).Duration() <= ExpiryTolerance);

    private static string Describe(DateTimeOffset? at) => at?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "never";
}
