using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// What a Redis store says when it cannot start: the endpoint (host:port, never the password),
/// the URL as the user wrote it (redacted), the driver's reason, and what to check. The driver's
/// own advice ("use abortConnect=false in your connection string or AbortOnConnectFail=false; in
/// your code") is about a StackExchange.Redis connection string that a ResultGrid user never
/// writes, so it is replaced by advice about the ResultGrid URL.
/// </summary>
internal static partial class RedisConnectErrors
{
    /// <summary>The connection could not be made at all.</summary>
    public static string CouldNotConnect(RedisConnectionException ex, string endpoints, string redactedUrl) =>
        $"Could not connect to Redis at {endpoints} ({redactedUrl}): {WithoutDriverAdvice(ex.Message)} " +
        $"Check that a Redis server runs and accepts connections at {endpoints} (the host and port of the URL), " +
        "and that the password (RESULTGRID__REDIS__PASSWORD or the URL's), the ACL user and TLS (rediss://, ssl_cert_reqs, ssl_ca_certs) match the server's.";

    /// <summary>
    /// The server was reached, but a command on the URL's database failed: a database number the
    /// server does not have (StackExchange.Redis knows the count from the handshake and refuses
    /// before sending; a server that hides it answers SELECT with "ERR DB index is out of range"),
    /// or a user the server does not let read there.
    /// </summary>
    public static string DatabaseRefused(Exception ex, string endpoints, string redactedUrl, int database) =>
        $"Redis at {endpoints} ({redactedUrl}) refused database {database}: {WithoutDriverAdvice(ex.Message).TrimEnd('.')}. " +
        $"A Redis server has as many databases as its 'databases' setting (16 by default, numbered 0 to 15; Redis Cluster has only 0): " +
        "give a database the server has in the URL's path (redis://host:6379/0) or its db= parameter, or raise 'databases' in the server's redis.conf.";

    /// <summary>The driver's message without its advice about its own connection-string keys.</summary>
    internal static string WithoutDriverAdvice(string message) =>
        DriverAdvice().Replace(message, string.Empty).Trim();

    // "Error connecting right now. To allow this multiplexer to continue retrying until it's able
    // to connect, use abortConnect=false in your connection string or AbortOnConnectFail=false; in your code."
    [GeneratedRegex(@"(Error connecting right now\.\s*)?To allow this multiplexer to continue retrying.*?in your code\.", RegexOptions.Singleline)]
    private static partial Regex DriverAdvice();
}
