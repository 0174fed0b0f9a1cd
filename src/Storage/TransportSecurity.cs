namespace ResultGrid.Storage;

/// <summary>
/// How a connection to a backend is protected in transit, as its URL and options configure it:
/// the one scale on which <c>resultgrid doctor</c> judges every provider's TLS settings.
/// </summary>
public enum TransportSecurity
{
    /// <summary>Clear text is possible: TLS is off, or only preferred (a server without it is used unencrypted).</summary>
    None = 0,

    /// <summary>Encrypted, but the server's certificate or host name is not checked: anyone on the way can pose as the server.</summary>
    Unverified = 1,

    /// <summary>Encrypted, with the certificate chain and the host name checked.</summary>
    Verified = 2,
}
