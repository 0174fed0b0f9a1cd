namespace ResultGrid.Storage;

/// <summary>
/// Optional store capability: bulk copy in and out, for <c>resultgrid migrate</c>. Pages are
/// read from a resumable cursor, so an interrupted copy goes on where it stopped; records are
/// imported only where the store holds nothing live under the id, so a page copied twice (after
/// a resume) or a result a dual-writing silo already put there is never duplicated or replaced.
/// </summary>
public interface IResultTransfer : IResultStoreCapability
{
    /// <summary>
    /// About how many results are stored (expired ones may be counted): the progress bar's
    /// total, never a figure a check relies on.
    /// </summary>
    ValueTask<long> EstimateResultCountAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The page of results after <paramref name="cursor"/> (null: from the start), about
    /// <paramref name="pageSize"/> of them, unexpired, each with its expiry as an instant (a TTL
    /// the backend keeps outside the record, as Celery's Redis keys do, is read and turned into
    /// one). <see cref="TransferPage{T}.NextCursor"/> is null after the last page.
    /// </summary>
    ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default);

    /// <summary>The same for saved groups.</summary>
    ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores each result exactly as given (state, payload bytes, content type and encoding,
    /// dates, extended fields, expiry) where nothing live is stored under its id; a live record
    /// is left as it is. Already expired results are skipped. Returns how many were added.
    /// </summary>
    ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default);

    /// <summary>The same for saved groups.</summary>
    ValueTask<int> ImportGroupsAsync(IReadOnlyList<GroupMeta> groups, CancellationToken cancellationToken = default);
}

/// <summary>
/// Optional capability of a copy's target: a store whose secondary indexes cost more to keep up
/// row by row than to build once (a SQL table's B-trees). <c>resultgrid migrate</c> calls
/// <see cref="BeginBulkLoadAsync"/> before a fresh copy and <see cref="EndBulkLoadAsync"/> after
/// every results phase, resumed or not, so an interrupted copy gets its indexes back when it is
/// resumed (and a silo starting with CreateTables on makes any still missing).
/// </summary>
public interface IBulkLoadTarget : IResultStoreCapability
{
    /// <summary>
    /// When no result is stored yet, drops the results' secondary indexes (never the key) and
    /// returns true; a target holding results is left as it is (its readers need the indexes).
    /// </summary>
    ValueTask<bool> BeginBulkLoadAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates every index of the store's schema that is missing; nothing when all are there.</summary>
    ValueTask EndBulkLoadAsync(CancellationToken cancellationToken = default);
}

/// <summary>One page of a transfer: the records, the cursor after them, and the stored entries that could not be read.</summary>
public sealed record TransferPage<T>(IReadOnlyList<T> Items, string? NextCursor, IReadOnlyList<TransferProblem> Problems)
{
    /// <summary>How many stored entries the page covered, readable or not (expired ones excluded).</summary>
    public int Scanned => Items.Count + Problems.Count;
}

/// <summary>A stored entry that cannot be copied, and why (an undecodable document, say); it is reported, never dropped silently.</summary>
public sealed record TransferProblem(string Id, string Reason);
