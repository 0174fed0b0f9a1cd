namespace ResultGrid.Storage;

internal sealed partial class DualWriteResultStore
{
    /// <summary>
    /// What the pair really has, decided once from its two stores: a change feed where either side
    /// has one; search and the id scan where the primary has them (reads go there first); the
    /// expired-row sweep where either side has no native expiry; server facts where either side
    /// reports them; the state history where the primary keeps one (its reads go there, and each
    /// write appends on every side that keeps one). Bulk transfer and raw records are not offered: <c>resultgrid migrate</c> and
    /// <c>inspect</c> open one backend by its URL, never a pair.
    /// </summary>
    public bool TryGetCapability<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability
    {
        capability = _capabilities.Find<T>();
        return capability is not null;
    }

    /// <summary>
    /// Each capability the pair has, under the capability's own type, null where the pair lacks
    /// it. Typed slots, not a search by type: the primary's scan is the primary store object
    /// itself, which implements other capabilities that the pair does not have.
    /// </summary>
    private sealed record Capabilities(IResultChangeFeed? Feed, IResultScan? Scan, IResultQuery? Query, IExpiredResultSweep? Sweep, IBackendDiagnostics? Diagnostics, IResultHistory? History)
    {
        public static Capabilities Of(DualWriteResultStore dual)
        {
            var (primary, secondary) = (dual._primary, dual._secondary);
            var (primaryFeed, secondaryFeed) = (primary.Capability<IResultChangeFeed>(), secondary.Capability<IResultChangeFeed>());
            var (primarySweep, secondarySweep) = (primary.Capability<IExpiredResultSweep>(), secondary.Capability<IExpiredResultSweep>());
            var (primaryFacts, secondaryFacts) = (primary.Capability<IBackendDiagnostics>(), secondary.Capability<IBackendDiagnostics>());
            return new Capabilities(
                primaryFeed is null && secondaryFeed is null ? null : new ChangeFeed(dual, primaryFeed, secondaryFeed),
                primary.Capability<IResultScan>(),
                primary.Capability<IResultQuery>(),
                primarySweep is null && secondarySweep is null ? null : new Sweep(dual, primarySweep, secondarySweep),
                primaryFacts is null && secondaryFacts is null ? null : new Diagnostics(dual, primaryFacts, secondaryFacts),
                primary.Capability<IResultHistory>() is { } history ? new History(dual, history) : null);
        }

        public T? Find<T>() where T : class => typeof(T) switch
        {
            var t when t == typeof(IResultChangeFeed) => Feed as T,
            var t when t == typeof(IResultScan) => Scan as T,
            var t when t == typeof(IResultQuery) => Query as T,
            var t when t == typeof(IExpiredResultSweep) => Sweep as T,
            var t when t == typeof(IBackendDiagnostics) => Diagnostics as T,
            var t when t == typeof(IResultHistory) => History as T,
            _ => null,
        };
    }

    /// <summary>
    /// Watches every side that has a change feed: writers outside the cluster (Celery workers)
    /// may still write to the old backend, whichever side it is now. A secondary whose feed fails
    /// is logged and left out; the waiter's reads still see its results.
    /// </summary>
    private sealed class ChangeFeed(DualWriteResultStore dual, IResultChangeFeed? primary, IResultChangeFeed? secondary) : IResultChangeFeed
    {
        public async ValueTask<IAsyncDisposable> WatchAsync(string taskId, Func<TaskResult, Task> onChange)
        {
            var watches = new List<IAsyncDisposable>(2);
            try
            {
                if (primary is not null)
                {
                    watches.Add(await primary.WatchAsync(taskId, onChange));
                }

                if (secondary is not null)
                {
                    try
                    {
                        watches.Add(await secondary.WatchAsync(taskId, onChange));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogSecondaryWatchFailed(dual._logger, ex, taskId, dual.SecondaryUrl);
                    }
                }
            }
            catch
            {
                await DisposeAllAsync(watches);
                throw;
            }

            return new Watches(watches);
        }

        private static async ValueTask DisposeAllAsync(List<IAsyncDisposable> watches)
        {
            foreach (var watch in watches)
            {
                await watch.DisposeAsync();
            }
        }

        private sealed class Watches(List<IAsyncDisposable> watches) : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => DisposeAllAsync(watches);
        }
    }

    /// <summary>
    /// Sweeps every side without native expiry: a SQL secondary written to in dual-write mode
    /// collects expired rows like a primary does. The count is both sides' together, so it falls
    /// short of the limit only once both are done.
    /// </summary>
    private sealed class Sweep(DualWriteResultStore dual, IExpiredResultSweep? primary, IExpiredResultSweep? secondary) : IExpiredResultSweep
    {
        public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
        {
            var deleted = 0;
            if (primary is not null)
            {
                deleted += await primary.DeleteExpiredAsync(now, limit, cancellationToken);
            }

            if (secondary is not null)
            {
                deleted += await dual.OnSecondaryAsync("sweep", "*", () => secondary.DeleteExpiredAsync(now, limit, cancellationToken));
            }

            return deleted;
        }

        /// <summary>The earlier of the two sides' oldest expired results.</summary>
        public async ValueTask<DateTimeOffset?> OldestExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            DateTimeOffset? oldest = null;
            if (primary is not null)
            {
                oldest = await primary.OldestExpiredAsync(now, cancellationToken);
            }

            if (secondary is not null && await dual.OnSecondaryAsync("sweep", "*", () => secondary.OldestExpiredAsync(now, cancellationToken)) is { } other)
            {
                oldest = oldest is { } o && o <= other ? o : other;
            }

            return oldest;
        }
    }

    /// <summary>
    /// The primary's history: a write goes through the pair's own write (so the primary decides
    /// and the secondary follows) with the entry appended on each side that keeps a history.
    /// </summary>
    private sealed class History(DualWriteResultStore dual, IResultHistory primary) : IResultHistory
    {
        public ValueTask<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, CancellationToken cancellationToken = default) =>
            dual.WriteAsync(result, entry, cancellationToken);

        public ValueTask<IReadOnlyList<ResultHistoryEntry>> ReadHistoryAsync(string taskId, CancellationToken cancellationToken = default) =>
            primary.ReadHistoryAsync(taskId, cancellationToken);
    }

    /// <summary>Both sides' facts, each named with its side (<c>primary: …</c>, <c>secondary: …</c>), after the mode.</summary>
    private sealed class Diagnostics(DualWriteResultStore dual, IBackendDiagnostics? primary, IBackendDiagnostics? secondary) : IBackendDiagnostics
    {
        public async Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default)
        {
            var facts = new List<BackendFact>
            {
                new(BackendFactIds.DualWriteMode, "mode", $"dual-write: primary {dual.PrimaryUrl}, secondary {dual.SecondaryUrl}"),
            };
            foreach (var (side, diagnostics) in new[] { ("primary", primary), ("secondary", secondary) })
            {
                if (diagnostics is not null)
                {
                    facts.AddRange((await diagnostics.DescribeAsync(cancellationToken)).Select(f => f with { Name = $"{side}: {f.Name}" }));
                }
            }

            return facts;
        }
    }
}
