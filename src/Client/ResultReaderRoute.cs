namespace ResultGrid.Client;

/// <summary>
/// Where reads go: the silos' <see cref="IResultReaderGrain"/>, or, when the cluster has none
/// (silos older than this client, which resolves the grain from the cluster's type map), the
/// result grains and the group grain's <see cref="IGroupResultGrain.ReadResultsAsync"/>, the
/// read paths those silos have. The answer is remembered, and asked again after
/// <see cref="RecheckAfter"/>, so a cluster upgraded under a running client moves to the reader.
/// </summary>
internal sealed class ResultReaderRoute(IGrainFactory grains, TimeProvider time)
{
    /// <summary>How long "the cluster has no reader" is believed before the type map is asked again.</summary>
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromMinutes(1);

    private IResultReaderGrain? _reader;
    private long _recheckAt;

    /// <summary>The reader grain; null while the cluster has no implementation of it.</summary>
    public IResultReaderGrain? Reader
    {
        get
        {
            if (Volatile.Read(ref _reader) is { } reader)
            {
                return reader;
            }

            var now = time.GetTimestamp();
            if (now < Volatile.Read(ref _recheckAt))
            {
                return null;
            }

            try
            {
                reader = grains.GetGrain<IResultReaderGrain>(0);
                Volatile.Write(ref _reader, reader);
                return reader;
            }
            catch (ArgumentException)
            {
                // Orleans' answer when no silo in the type map implements the interface (the
                // key and the interface are fixed, so nothing else about this call is wrong).
                Volatile.Write(ref _recheckAt, now + (long)(RecheckAfter.TotalSeconds * time.TimestampFrequency));
                return null;
            }
        }
    }
}
