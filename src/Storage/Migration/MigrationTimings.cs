using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace ResultGrid.Storage.Migration;

/// <summary>
/// Where a copy's time goes, phase by phase (scan, values, decode, import, checkpoint …), when
/// the environment variable <c>RESULTGRID_MIGRATE_TIMINGS</c> is 1: summed over every page and
/// printed to stderr when the copy ends. Phases that run at once (the source read ahead while
/// pages are imported) add up to more than the wall time; a phase whose sum is near the wall
/// time is the one the copy waits on. Off, a phase costs one branch.
/// </summary>
internal static class MigrationTimings
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("RESULTGRID_MIGRATE_TIMINGS") == "1";

    private static readonly ConcurrentDictionary<string, (long Ticks, long Count)> Phases = new(StringComparer.Ordinal);

    /// <summary>A running clock for a phase; 0 when timings are off.</summary>
    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Adds the time since <paramref name="started"/> to <paramref name="phase"/>.</summary>
    public static void Stop(string phase, long started)
    {
        if (Enabled)
        {
            var elapsed = Stopwatch.GetTimestamp() - started;
            Phases.AddOrUpdate(phase, (elapsed, 1), (_, total) => (total.Ticks + elapsed, total.Count + 1));
        }
    }

    /// <summary>Prints every phase (ms in total, times, ms each) against the wall time, and starts again from zero.</summary>
    public static void Report(string what, TimeSpan wall)
    {
        if (!Enabled)
        {
            return;
        }

        var lines = Phases.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
        {
            var ms = p.Value.Ticks * 1000.0 / Stopwatch.Frequency;
            return string.Create(CultureInfo.InvariantCulture, $"  {p.Key,-18} {ms,9:F1} ms {p.Value.Count,7} x {ms / Math.Max(1, p.Value.Count),8:F2} ms");
        });
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resultgrid migrate timings, {what}: wall {wall.TotalMilliseconds:F1} ms") + Environment.NewLine + string.Join(Environment.NewLine, lines));
        Phases.Clear();
    }
}
