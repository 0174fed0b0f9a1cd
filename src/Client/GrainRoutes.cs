namespace ResultGrid.Client;

/// <summary>
/// The grains newer than some silos a client may meet, each resolved from the cluster's type map:
/// the reader (<see cref="IResultReaderGrain"/>; without it, reads go to the result grains and the
/// group grain's <see cref="IGroupResultGrain.ReadResultsAsync"/>, the paths older silos have),
/// and the batch reader and writer that gathered calls go to (without them, calls go one by one).
/// Each answer is remembered, and asked again after <see cref="RecheckAfter"/>, so a cluster
/// upgraded under a running client moves to the newer path.
/// </summary>
internal sealed class GrainRoutes(IGrainFactory grains, TimeProvider time)
{
    /// <summary>How long "the cluster has no such grain" is believed before the type map is asked again.</summary>
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromMinutes(1);

    private Resolved<IResultReaderGrain> _reader;
    private Resolved<IResultBatchReaderGrain> _batchReader;
    private Resolved<IResultBatchWriterGrain> _batchWriter;

    /// <summary>The reader grain; null while the cluster has no implementation of it.</summary>
    public IResultReaderGrain? Reader => Resolve(ref _reader);

    /// <summary>The batch reader grain; null while the cluster has no implementation of it.</summary>
    public IResultBatchReaderGrain? BatchReader => Resolve(ref _batchReader);

    /// <summary>The batch writer grain; null while the cluster has no implementation of it.</summary>
    public IResultBatchWriterGrain? BatchWriter => Resolve(ref _batchWriter);

    private T? Resolve<T>(ref Resolved<T> resolved)
        where T : class, IGrainWithIntegerKey
    {
        if (Volatile.Read(ref resolved.Grain) is { } grain)
        {
            return grain;
        }

        var now = time.GetTimestamp();
        if (now < Volatile.Read(ref resolved.RecheckAt))
        {
            return null;
        }

        try
        {
            grain = grains.GetGrain<T>(0);
            Volatile.Write(ref resolved.Grain, grain);
            return grain;
        }
        catch (ArgumentException)
        {
            // Orleans' answer when no silo in the type map implements the interface (the
            // key and the interface are fixed, so nothing else about this call is wrong).
            Volatile.Write(ref resolved.RecheckAt, now + (long)(RecheckAfter.TotalSeconds * time.TimestampFrequency));
            return null;
        }
    }

    private struct Resolved<T>
        where T : class
    {
        public T? Grain;
        public long RecheckAt;
    }
}
