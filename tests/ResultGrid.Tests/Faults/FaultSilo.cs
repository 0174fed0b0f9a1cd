using System.Globalization;

namespace ResultGrid.Tests;

/// <summary>One silo host process of the fault cluster.</summary>
internal sealed class FaultSilo(int index, int siloPort, int gatewayPort, ProcessTests.Running process)
{
    public int Index { get; } = index;
    public int SiloPort { get; } = siloPort;
    public int GatewayPort { get; } = gatewayPort;
    public ProcessTests.Running Process { get; } = process;

    /// <summary>
    /// kill -9 of the silo host itself: the child is <c>dotnet ResultGrid.Silo.dll</c>, and the
    /// dotnet host runs the app in its own process (no wrapper in between), so this is the
    /// silo's process. No shutdown code runs; its sockets are closed by the kernel.
    /// </summary>
    /// <remarks>
    /// SIGKILL is sent before this returns its task (the exit is awaited after), so a caller that
    /// does not await it at once loses no time: the process tree is not walked (the silo host
    /// has no children), and a big heap's teardown on a busy machine does not stall the caller.
    /// </remarks>
    public Task KillAsync()
    {
        Process.Process.Kill();
        return Process.Process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the silo stops answering, its sockets stay open (a call sent now stays in flight).</summary>
    public Task FreezeAsync() => Signal("-STOP");

    /// <summary>SIGCONT: a frozen silo runs on.</summary>
    public Task ThawAsync() => Signal("-CONT");

    private async Task Signal(string signal)
    {
        var (exit, _, error) = await ProcessTests.RunToEndAsync("kill", [signal, Process.Process.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(exit == 0, $"kill {signal} {Process.Process.Id} failed: {error}");
    }

    public override string ToString() => $"silo {Index} (silo port {SiloPort}, gateway {GatewayPort})";
}
