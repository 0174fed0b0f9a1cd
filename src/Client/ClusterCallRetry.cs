using Orleans.Runtime.Messaging;

namespace ResultGrid.Client;

/// <summary>
/// Raised when the SDK could not get an answer from the cluster within its retry budget
/// (<see cref="ResultGridClientOptions.RetryBudget"/>). For a write it means the SDK could not
/// learn whether the store has the result; it never means the store refused it.
/// </summary>
public sealed class ResultGridUnavailableException : Exception
{
    public ResultGridUnavailableException() { }
    public ResultGridUnavailableException(string message) : base(message) { }
    public ResultGridUnavailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Cancels the calls in flight when one of this client's gateway connections drops. Orleans
/// fails a call whose gateway died only at its response timeout (30 s), although the client
/// has other gateways; the SDK's idempotent calls are abandoned at once and sent again, and
/// Orleans routes the new call through a gateway that is still connected.
/// </summary>
/// <remarks>
/// Inside a silo nothing calls it (calls to a dead silo are failed by the silo's own membership
/// view), and its token stays <see cref="CancellationToken.None"/>: no cost on that path.
/// </remarks>
internal sealed class GatewayLossSignal : IClusterConnectionStatusObserver
{
    private CancellationTokenSource? _current;

    /// <summary>True in an Orleans client process (it has had a gateway connection); false inside a silo.</summary>
    public bool IsClientProcess => Volatile.Read(ref _current) is not null;

    /// <summary>Cancelled when a gateway connection of this client drops after this was read.</summary>
    public CancellationToken Token => Volatile.Read(ref _current)?.Token ?? CancellationToken.None;

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways < previousNumberOfGateways)
        {
            Lost();
        }
        else if (Volatile.Read(ref _current) is null)
        {
            // The first connection of a client process: from now on there is something to lose.
            Interlocked.CompareExchange(ref _current, new CancellationTokenSource(), null);
        }
    }

    public void NotifyClusterConnectionLost() => Lost();

    private void Lost()
    {
        var previous = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        if (previous is not null)
        {
            // Off the notifying thread: Orleans calls this from its connection code. Not disposed:
            // a caller may still be reading its token, and without a timer it holds nothing.
            _ = Task.Run(previous.Cancel);
        }
    }
}

/// <summary>Which failures of a grain call mean "the cluster did not answer", never "the store said no".</summary>
internal static class ClusterFailures
{
    /// <summary>
    /// A silo or gateway that died or is leaving, a message rejected while an activation moved
    /// (forwarding failed), a connection that failed, or a response that never came. Errors a
    /// grain raised (bad input, the store's own refusal) are not among them.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        ResultTimeoutException => false,
        OrleansMessageRejectionException => true, // SiloUnavailableException among them
        ConnectionFailedException => true,
        GatewayTooBusyException => true,
        TimeoutException => true, // Orleans' response timeout
        _ => false,
    };
}
