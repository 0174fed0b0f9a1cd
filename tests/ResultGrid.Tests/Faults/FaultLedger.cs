using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Everything the fault scenario asked of the cluster and what it answered, on one clock
/// (seconds since the scenario began), and the figures computed from it.
/// </summary>
internal sealed partial class FaultLedger
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public double Now => _clock.Elapsed.TotalSeconds;

    public ConcurrentBag<WriteRecord> Writes { get; } = [];

    public ConcurrentBag<WaitRecord> Waits { get; } = [];

    public ConcurrentBag<ProbeRecord> Probes { get; } = [];

    /// <summary>One write through the SDK, recorded whatever it answers; never throws.</summary>
    public async Task<WriteRecord> WriteAsync(IResultGridClient client, string id, string kind, string? groupId = null, CancellationToken cancellationToken = default)
    {
        var start = Now;
        WriteRecord record;
        try
        {
            var options = groupId is null ? null : new ResultWriteOptions { GroupId = groupId };
            var outcome = await client.MarkSucceededAsync(id, id, options, cancellationToken);
            record = new WriteRecord(id, kind, start, Now, outcome, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            record = new WriteRecord(id, kind, start, Now, null, Describe(ex));
        }

        Writes.Add(record);
        return record;
    }

    /// <summary>One wait through the SDK, recorded whatever it answers; never throws.</summary>
    public async Task<WaitRecord> WaitAsync(IResultGridClient client, string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = Now;
        WaitRecord record;
        try
        {
            var outcome = await client.WaitAsync<string>(id, timeout, cancellationToken: cancellationToken);
            record = new WaitRecord(id, start, Now, outcome.Value, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            record = new WaitRecord(id, start, Now, null, Describe(ex));
        }

        Waits.Add(record);
        return record;
    }

    /// <summary>The exception's type and first line, with the inner one's: what a caller sees.</summary>
    public static string Describe(Exception ex)
    {
        static string Line(Exception e)
        {
            var message = e.Message.Split('\n', 2)[0].Trim();
            return $"{e.GetType().Name}: {(message.Length > 140 ? message[..140] + "…" : message)}";
        }

        return ex.InnerException is { } inner ? $"{Line(ex)} <- {Line(inner)}" : Line(ex);
    }

    /// <summary>
    /// Seconds from <paramref name="kill"/> until the calls flow again: the start of the last
    /// call that started at or after the kill and did not flow (failed, or took longer than the
    /// flow latency), minus the kill; so every call started after that moment flowed. 0 when
    /// every call started after the kill flowed. Calls already in flight at the kill are left
    /// out here (they are in the maximum latency and the reported failures).
    /// </summary>
    public static double SecondsUntilFlow(double kill, IEnumerable<(double Start, bool Flowed)> calls)
    {
        var bad = calls.Where(c => c.Start >= kill && !c.Flowed).Select(c => c.Start).DefaultIfEmpty(kill).Max();
        return Math.Max(0, bad - kill);
    }

    public static string Json(IReadOnlyDictionary<string, object?> figures) => JsonSerializer.Serialize(figures, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static double Round(double seconds) => Math.Round(seconds, 2);

    /// <summary>
    /// The distinct answers with their counts, most frequent first; numbers (ports, silo
    /// generations, retry delays, message ids) are blanked so that one kind of error counts once.
    /// </summary>
    public static string Count(IEnumerable<string> texts, int top = 5) =>
        string.Join("; ", texts.Select(t => Numbers().Replace(t, "#")).GroupBy(t => t, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).Take(top).Select(g => $"{g.Count()}× {g.Key}"));

    [GeneratedRegex(@"[0-9A-F]{16}|\d+(\.\d+)?")]
    private static partial Regex Numbers();

    public static string Fmt(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}
