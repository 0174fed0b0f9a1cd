namespace ResultGrid.Tests;

/// <summary>
/// The project's own fault suite (issue 13, point 6), as real processes: three silo hosts
/// clustered through Redis (results in Redis) or through PostgreSQL (results in PostgreSQL),
/// and <c>kill -9</c> of a silo holding waiter-index partitions, result grains and a group while
/// writes, waits and a 5,000-child join are in flight (<see cref="BusySiloKillTests"/>); and of a
/// client's own gateway while a write and a wait go through it (<see cref="GatewayKillTests"/>).
/// Each scenario prints one <c>FAULT-FIGURES {json}</c> line, then asserts: every acknowledged
/// result is stored with its value, no stored result was reported as failed, every wait and the
/// join were answered with their values, and writes and wakes flowed again within
/// <see cref="RecoveryTarget"/> of the kill. What the two scenarios share is here.
/// </summary>
/// <remarks>
/// Sized for a 2-core machine: measured 55–60 s for the busy-silo scenario and 45–50 s for the
/// gateway one (about 2 minutes per flavour; up to 2 m 20 s and 1 m 10 s on a machine busy with
/// other builds), and every await bounded (<see cref="BusySiloKillTests.ScenarioBound"/>) when the cluster does
/// not recover, so a broken cluster fails with its figures instead of hanging the suite. The collection runs alone, so the
/// timings are not those of a machine busy with the other tests.
/// </remarks>
internal static class ClusterFaultScenario
{
    /// <summary>The collection both scenarios are in: it runs alone (<see cref="ClusterFaultsRunAlone"/>).</summary>
    public const string Collection = "ClusterFaultTests";

    /// <summary>Issue 13's target: writes and wakes flowing again within 5 s of a kill -9.</summary>
    public static readonly TimeSpan RecoveryTarget = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string Name(FaultFlavour flavour) => flavour == FaultFlavour.Redis ? "redis" : "postgresql";

    /// <summary>Waits at most <paramref name="seconds"/> for <paramref name="task"/>; true when it finished.</summary>
    public static async Task<bool> Settled(Task task, double seconds)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.1, seconds)), Ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The figures line: in the test's output, on the console, and in artifacts/test-results/fault-figures.log.</summary>
    public static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
        try
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory);
            var root = here.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            var folder = Path.Combine(root, "artifacts", "test-results");
            Directory.CreateDirectory(folder);
            File.AppendAllText(Path.Combine(folder, "fault-figures.log"), $"{DateTimeOffset.UtcNow:O} {line}\n");
        }
        catch (IOException)
        {
            // The figures are in the test output either way.
        }
    }
}
