using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// The real programs as separate processes: the silo host exactly as `dotnet run --project
/// src/Silo` starts it, and the sample client against it.
/// </summary>
public sealed class ProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static string Built(string project, string assembly)
    {
        // tests/ResultGrid.Tests/bin/<Configuration>/net10.0/ → the same configuration of the other project.
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var root = here.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, project, "bin", configuration, framework, assembly + ".dll");
        Assert.True(File.Exists(path), $"{path} was not built");
        return path;
    }

    /// <summary>Runs a program to its end (a helper tool: git, Debian's python3 with Celery): exit code, stdout, stderr.</summary>
    internal static async Task<(int Exit, string Output, string Error)> RunToEndAsync(string file, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Runs a prepared process to its end within <paramref name="timeout"/>, stdout and stderr
    /// interleaved as a terminal shows them: exit code and output, or null for the exit code when
    /// it was killed (with its whole tree) past the timeout. The caller decides what a timeout means.
    /// </summary>
    internal static async Task<(int? Exit, string Output)> RunInterleavedAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            lock (output)
            {
                return (null, output.ToString());
            }
        }

        // The exit event can come before the last output lines: wait for the streams to end.
        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    internal sealed class Running : IAsyncDisposable
    {
        private readonly StringBuilder _out = new();
        private readonly StringBuilder _err = new();

        private readonly bool _ownDirectory;

        /// <summary>
        /// Starts <paramref name="dll"/> in <paramref name="workingDirectory"/>, or in a new
        /// temporary folder (removed on dispose), so that the silo's default SQLite file lands there.
        /// <paramref name="unset"/> names variables the child must not inherit from the test process.
        /// </summary>
        public Running(string dll, IDictionary<string, string> env, string? workingDirectory = null, IEnumerable<string>? arguments = null, IEnumerable<string>? unset = null)
        {
            _ownDirectory = workingDirectory is null;
            WorkingDirectory = workingDirectory ?? Directory.CreateTempSubdirectory("rg-proc-").FullName;
            var info = new ProcessStartInfo("dotnet", [dll, .. arguments ?? []]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = WorkingDirectory };
            foreach (var (k, v) in env)
            {
                info.Environment[k] = v;
            }

            foreach (var name in unset ?? [])
            {
                info.Environment.Remove(name);
            }

            Process = Process.Start(info)!;
            Process.OutputDataReceived += (_, e) => { lock (_out) { _out.AppendLine(e.Data); } };
            Process.ErrorDataReceived += (_, e) => { lock (_err) { _err.AppendLine(e.Data); } };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string WorkingDirectory { get; }

        public string Output { get { lock (_out) { return _out.ToString(); } } }

        public string Error { get { lock (_err) { return _err.ToString(); } } }

        public async Task WaitForOutput(string text, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                Assert.False(Process.HasExited, $"process exited with {(Process.HasExited ? Process.ExitCode : 0)} before printing '{text}':\n{Output}\n{Error}");
                Assert.True(clock.Elapsed < timeout, $"no '{text}' within {timeout}:\n{Output}\n{Error}");
                await Task.Delay(100, Ct);
            }
        }

        public async Task<int> Exit(TimeSpan timeout)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(timeout);
            await Process.WaitForExitAsync(cts.Token);
            return Process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }

            Process.Dispose();
            if (_ownDirectory)
            {
                try
                {
                    Directory.Delete(WorkingDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        /// <summary>kill -9 of the process and its children: no shutdown runs.</summary>
        public async Task KillAsync()
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }
    }

    private static Dictionary<string, string> SiloEnv() => new()
    {
        ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RESULTGRID__SILO__CLUSTERID"] = $"e2e-{Guid.NewGuid():N}",
    };

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task The_silo_host_serves_the_quickstart_sample()
    {
        var env = SiloEnv();
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);
        await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        Assert.Contains($"gateway 127.0.0.1:{env["RESULTGRID__SILO__GATEWAYPORT"]}", silo.Output, StringComparison.Ordinal);
        // The embedded durable default: SQLite, in a file under ./data of the working directory.
        Assert.Contains("backend db+sqlite:///data/resultgrid.db", silo.Output, StringComparison.Ordinal);

        await using var sample = new Running(Built("samples/Quickstart", "ResultGrid.Samples.Quickstart"), env);
        var exit = await sample.Exit(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"sample exited {exit}:\n{sample.Output}\n{sample.Error}");
        Assert.Contains("PROGRESS Progress { Current = 3, Total = 3 }", sample.Output, StringComparison.Ordinal);
        Assert.Contains("SUCCESS Report { Quarter = Q3, Total = 1234.5, Regions = [north, south] }", sample.Output, StringComparison.Ordinal);
        Assert.Contains("FAILURE InvalidOperationException: the report source is offline", sample.Output, StringComparison.Ordinal);
        Assert.Contains("after forget PENDING", sample.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(silo.WorkingDirectory, "data", "resultgrid.db")), "the default SQLite file was not created under ./data");
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task The_silo_host_serves_the_HTTP_API_on_loopback_and_says_where()
    {
        var env = SiloEnv();
        var port = FreePort.Get();
        env["RESULTGRID__HTTP__URLS"] = $"http://127.0.0.1:{port}";
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);
        await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        Assert.Contains($"http http://127.0.0.1:{port}/api, dashboard http://127.0.0.1:{port}/", silo.Output, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var id = TaskIds.NewId();
        var pending = await http.GetStringAsync($"api/v1/results/{id}", Ct);
        Assert.Contains("\"state\":\"PENDING\"", pending, StringComparison.Ordinal);
        using var put = await http.PutAsync($"api/v1/results/{id}", new StringContent("{\"state\":\"SUCCESS\",\"result\":{\"answer\":42}}", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, put.StatusCode);
        var stored = await http.GetStringAsync($"api/v1/results/{id}", Ct);
        Assert.Contains("\"value\":{\"answer\":42}", stored, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"up\"", await http.GetStringAsync("healthz", Ct), StringComparison.Ordinal);
        Assert.Contains("\"status\":\"ready\"", await http.GetStringAsync("readyz", Ct), StringComparison.Ordinal);
        // The dashboard beside it, on the result just written.
        var page = await http.GetStringAsync($"results/{id}", Ct);
        Assert.Contains("data-testid=\"result-state\">SUCCESS", page, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_dashboard_path_that_is_the_api_prefix_is_refused_at_start()
    {
        var env = SiloEnv();
        env["RESULTGRID__HTTP__URLS"] = $"http://127.0.0.1:{FreePort.Get()}";
        env["RESULTGRID__HTTP__DASHBOARDPATH"] = "/api";
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);
        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("ResultGrid:Http:DashboardPath is '/api', the same path as ResultGrid:Http:Prefix", silo.Error + silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task An_empty_ResultGrid_Http_Urls_turns_HTTP_off()
    {
        var env = SiloEnv();
        env["RESULTGRID__HTTP__URLS"] = string.Empty;
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);
        await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        Assert.Contains(", http off", silo.Output, StringComparison.Ordinal);

        // Nothing listens on the default port on this silo's behalf (another test's silo may, so
        // the check is the log line plus no Kestrel start-up line).
        Assert.DoesNotContain("Now listening on", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task HTTP_turned_off_in_the_environments_settings_file_listens_nowhere()
    {
        // The on/off decision reads the configuration the host runs with, appsettings.{Environment}.json
        // included; a second reading without it once left Kestrel on its default port 5000.
        var env = SiloEnv();
        var environment = $"HttpOff{Guid.NewGuid():N}";
        env["DOTNET_ENVIRONMENT"] = environment;
        var settings = Path.Combine(Path.GetDirectoryName(Built("src/Silo", "ResultGrid.Silo"))!, $"appsettings.{environment}.json");
        // The file sets Urls empty; the test process's RESULTGRID__HTTP__URLS would win over it, so the child does not inherit it.
        await File.WriteAllTextAsync(settings, "{\"ResultGrid\": {\"Http\": {\"Urls\": \"\"}}}", Ct);
        try
        {
            await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env, unset: ["RESULTGRID__HTTP__URLS"]);
            await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
            Assert.Contains(", http off", silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Now listening on", silo.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(settings);
        }
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Results_and_groups_on_the_default_backend_survive_a_killed_silo()
    {
        var env = SiloEnv();
        var work = Directory.CreateTempSubdirectory("rg-restart-").FullName;
        var id = TaskIds.NewId();
        var groupId = TaskIds.NewId();
        try
        {
            await using (var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env, work))
            {
                await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
                using var client = await ConnectAsync(env);
                var results = client.Services.GetRequiredService<ResultGrid.Client.IResultGridClient>();
                await results.MarkSucceededAsync(id, new Dictionary<string, int> { ["answer"] = 42 }, cancellationToken: Ct);
                await results.SaveGroupAsync(groupId, [id, TaskIds.NewId()], cancellationToken: Ct);
                await silo.KillAsync();
            }

            await using (var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env, work))
            {
                await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
                using var client = await ConnectAsync(env);
                var results = client.Services.GetRequiredService<ResultGrid.Client.IResultGridClient>();
                var read = await results.GetAsync(id, Ct);
                Assert.Equal(TaskStates.Success, read.State);
                Assert.Equal(42, read.GetValue<Dictionary<string, int>>()!["answer"]);

                // The group is restored from the file with its counts rebuilt from its children.
                var group = await results.GetGroupAsync(groupId, Ct);
                Assert.Equal((true, 2, 1, 1), (group.Exists, group.Total, group.Completed, group.Waiting));
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>An Orleans client of this test process, through the silo's gateway.</summary>
    private static async Task<IHost> ConnectAsync(Dictionary<string, string> env)
    {
        var host = new HostBuilder().UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(int.Parse(env["RESULTGRID__SILO__GATEWAYPORT"], System.Globalization.CultureInfo.InvariantCulture), "resultgrid", env["RESULTGRID__SILO__CLUSTERID"]);
            client.AddResultGridClient();
        }).Build();
        await host.StartAsync(Ct);
        return host;
    }

    [Fact]
    public async Task The_silo_host_refuses_a_bad_backend_url_with_exit_code_2_and_the_reason()
    {
        var env = SiloEnv();
        env["RESULTGRID__BACKEND"] = "redis//missing-colon";
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("ResultGrid:Backend", silo.Error, StringComparison.Ordinal);
        Assert.Contains("has no scheme", silo.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_silo_host_refuses_clashing_ports()
    {
        var env = SiloEnv();
        env["RESULTGRID__SILO__GATEWAYPORT"] = env["RESULTGRID__SILO__SILOPORT"];
        await using var silo = new Running(Built("src/Silo", "ResultGrid.Silo"), env);

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("they must differ", silo.Error, StringComparison.Ordinal);
    }
}
