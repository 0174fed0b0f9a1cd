using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace ResultGrid.Tests;

/// <summary>
/// ResultGrid as a .NET team adopts it, from the packages alone: scripts/pack.sh packs into a
/// temporary folder, a silo host and a worker-and-client program outside the repository are
/// built from that folder and the machine's NuGet source (PackageReferences only) and run against
/// the real Redis and a SQLite file, and the tool is installed from the folder and run. The packages carry a
/// version of their own (0.1.0-test.&lt;8 hex&gt;), so the shared NuGet cache can never serve a
/// stale copy; that version's folders are removed from the cache at the end.
/// </summary>
[Trait("Suite", "Packaging")]
public sealed class PackageConsumerTests(RedisCluster redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every package the repository ships; each one has a .snupkg beside it.</summary>
    private static readonly string[] Packages =
    [
        "ResultGrid.Abstractions", "ResultGrid.Serialization", "ResultGrid.Client", "ResultGrid.Storage",
        "ResultGrid.Storage.Redis", "ResultGrid.Storage.Sql", "ResultGrid.Storage.GrainStorage", "ResultGrid.Clustering.Sql", "ResultGrid.Grains",
        "ResultGrid.Http", "ResultGrid.Hosting", "ResultGrid.Cli",
    ];

    /// <summary>
    /// The whole test's time, below scripts/test.sh's hang timeout (8 minutes). Packing alone took
    /// over 4 minutes in a fresh-clone run with the rest of the suite beside it (2.3 alone).
    /// </summary>
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(7.5);

    /// <summary>The checks `resultgrid check` runs on every backend.</summary>
    private static readonly string[] Exercised = ["connect", "write and read back", "never overwrite SUCCESS", "expiry honoured", "forget"];

    [Fact]
    [Trait("Backend", "redis")]
    [Trait("Backend", "sqlite")]
    public async Task A_silo_a_worker_client_and_the_tool_run_from_the_packed_packages_alone()
    {
        var root = RepositoryRoot();
        // SemVer forbids a numeric identifier with a leading zero: the tag always has a letter.
        var tag = Guid.NewGuid().ToString("N")[..8];
        var version = $"0.1.0-test.{(tag.All(char.IsAsciiDigit) ? "a" + tag[1..] : tag)}";
        var work = Directory.CreateTempSubdirectory("rg-pack-").FullName;
        var feed = Path.Combine(work, "feed");
        var consumer = Directory.CreateDirectory(Path.Combine(work, "consumer")).FullName;
        var clock = Stopwatch.StartNew();
        // Each step's time limit is cut to what is left of 7.5 minutes, so that a slow machine
        // fails this test with the step and its output, before scripts/test.sh's 8-minute hang
        // timeout would kill the whole test run.
        TimeSpan Within(TimeSpan step) => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, Math.Min(step.Ticks, (Budget - clock.Elapsed).Ticks)));
        try
        {
            // 1. Pack, as a release would, but into an artifacts folder of its own: the test run's
            //    own build outputs (which other tests are running from) are never touched.
            var pack = await RunAsync("bash", [Path.Combine(root, "scripts", "pack.sh"), feed, $"-p:Version={version}", "--artifacts-path", Path.Combine(work, "artifacts"), "-nodeReuse:false"], root, Within(TimeSpan.FromMinutes(6)));
            Assert.True(pack.Exit == 0, $"pack.sh exited {pack.Exit}:\n{pack.Output}");
            Log($"packed in {clock.Elapsed:mm\\:ss}:\n{pack.Output}");
            foreach (var id in Packages)
            {
                Assert.Contains($"{id}.{version}.nupkg", pack.Output, StringComparison.Ordinal);
                Assert.Contains($"{id}.{version}.snupkg", pack.Output, StringComparison.Ordinal);
                AssertPackageMetadata(Path.Combine(feed, $"{id}.{version}.nupkg"), id, version);
            }

            // 2. Two programs from PackageReferences alone, built outside the repository.
            await ConsumerProject.WriteAsync(consumer, root, feed, version, await MachineSourcesAsync(work), Ct);
            var build = await RunAsync("dotnet", ["build", ConsumerProject.Solution, "-c", "Release", "-nologo", "-nodeReuse:false"], consumer, Within(TimeSpan.FromMinutes(3)));
            Assert.True(build.Exit == 0, $"the consumer projects did not build from the packages:\n{build.Output}");
            Log($"consumer built at {clock.Elapsed:mm\\:ss}");

            // 3. The silo host from ResultGrid.Hosting, and the client against it. The silo writes
            //    to Redis and SQLite both (dual-write), so that both drivers, SQLite's native
            //    library included, must have come with the silo package.
            var backend = await redis.Server.UrlAsync();
            var secondary = $"db+sqlite:///{Path.Combine(work, "silo.db")}";
            var httpPort = FreePort.Get();
            var env = new Dictionary<string, string>
            {
                ["RESULTGRID__BACKEND"] = backend,
                ["RESULTGRID__SECONDARYBACKEND"] = secondary,
                ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["RESULTGRID__SILO__CLUSTERID"] = $"consumer-{Guid.NewGuid():N}",
                ["RESULTGRID__HTTP__URLS"] = $"http://127.0.0.1:{httpPort}",
            };
            string storedId;
            await using (var silo = new ProcessTests.Running(ConsumerProject.Built(consumer, ConsumerProject.SiloProject), env))
            {
                await silo.WaitForOutput("ResultGrid silo listening", Within(TimeSpan.FromSeconds(90)));
                Assert.Contains($"backend {backend} (dual-write, secondary {secondary})", silo.Output, StringComparison.Ordinal);
                // The HTTP API and the dashboard's embedded assets came with the package too.
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
                Assert.Contains("\"status\":\"ready\"", await http.GetStringAsync("readyz", Ct), StringComparison.Ordinal);

                await using var client = new ProcessTests.Running(ConsumerProject.Built(consumer, ConsumerProject.ClientProject), env);
                var exit = await client.Exit(Within(TimeSpan.FromSeconds(90)));
                var output = client.Output;
                Assert.True(exit == 0, $"the consumer client exited {exit}:\n{output}\n{client.Error}\nsilo:\n{silo.Output}\n{silo.Error}");
                Assert.Contains(": PROGRESS Progress { Current = 3, Total = 3 }", output, StringComparison.Ordinal);
                Assert.Contains(": SUCCESS Report { Quarter = Q3, Total = 1234.5, Regions = [north, south] }", output, StringComparison.Ordinal);
                Assert.Contains(": FAILURE InvalidOperationException: the report source is offline", output, StringComparison.Ordinal);
                Assert.Matches(@"task [0-9a-f-]{36}: SUCCESS 6", output);
                var stored = output.Split('\n').Single(l => l.StartsWith("stored ", StringComparison.Ordinal)).Trim();
                Assert.EndsWith(": SUCCESS", stored, StringComparison.Ordinal);
                storedId = stored["stored ".Length..stored.IndexOf(':', StringComparison.Ordinal)];
            }

            Log($"silo and client ran at {clock.Elapsed:mm\\:ss}");

            // 4. The tool, installed from the folder as `dotnet tool install` does for users.
            var tools = Path.Combine(work, "tools");
            var install = await RunAsync("dotnet", ["tool", "install", "ResultGrid.Cli", "--tool-path", tools, "--add-source", feed, "--version", version], consumer, Within(TimeSpan.FromMinutes(2)));
            Assert.True(install.Exit == 0, $"dotnet tool install exited {install.Exit}:\n{install.Output}");
            var resultgrid = Path.Combine(tools, "resultgrid");

            var shown = await RunAsync(resultgrid, ["--version"], work, Within(TimeSpan.FromSeconds(30)));
            Assert.Equal((0, version), (shown.Exit, shown.Output.Trim()));

            // The result the client stored is in Redis and in the SQLite file, read by the installed tool.
            foreach (var url in new[] { backend, secondary })
            {
                var inspect = await RunAsync(resultgrid, ["inspect", url, storedId, "--json"], work, Within(TimeSpan.FromSeconds(60)));
                Assert.True(inspect.Exit == 0, $"resultgrid inspect {url} exited {inspect.Exit}:\n{inspect.Output}");
                using var record = JsonDocument.Parse(inspect.Output);
                Assert.Equal("SUCCESS", record.RootElement.GetProperty("state").GetString());
                Assert.Contains("Q3", record.RootElement.GetProperty("payload").GetString(), StringComparison.Ordinal);
            }

            // check on both kinds of backend: StackExchange.Redis, and SQLite's native library.
            foreach (var url in new[] { backend, $"db+sqlite:///{Path.Combine(work, "check.db")}" })
            {
                var check = await RunAsync(resultgrid, ["check", url, "--json"], work, Within(TimeSpan.FromSeconds(90)));
                Assert.True(check.Exit == 0, $"resultgrid check {url} exited {check.Exit}:\n{check.Output}");
                using var report = JsonDocument.Parse(check.Output);
                var outcomes = report.RootElement.GetProperty("checks").EnumerateArray()
                    .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("outcome").GetString()!);
                Assert.All(Exercised, name => Assert.Equal("pass", outcomes[name]));
            }

            Log($"tool installed and ran at {clock.Elapsed:mm\\:ss}");
        }
        finally
        {
            RemoveFromPackageCache(version);
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>What nuget.org shows for a package, and what NuGet itself would refuse without.</summary>
    private static void AssertPackageMetadata(string nupkg, string id, string version)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("LICENSE", entries);
        Assert.Contains("README.md", entries);
        using var nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal((id, version), (Field("id"), Field("version")));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        Assert.Equal("https://github.com/resultgrid/resultgrid", Field("projectUrl"));
        Assert.False(string.IsNullOrWhiteSpace(Field("description")), $"{id} has no description");
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("https://github.com/resultgrid/resultgrid", (string?)repository.Attribute("url"));
        // Every ResultGrid dependency is the same version: one version for all.
        var ours = metadata.Descendants().Where(e => e.Name.LocalName == "dependency" && ((string)e.Attribute("id")!).StartsWith("ResultGrid.", StringComparison.Ordinal)).ToList();
        Assert.All(ours, d => Assert.Equal(version, (string?)d.Attribute("version")));
        Assert.DoesNotContain(metadata.Descendants(), e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "Microsoft.SourceLink.GitHub");
    }

    /// <summary>The machine's enabled NuGet sources, as `dotnet nuget list source` shows them.</summary>
    private static async Task<IReadOnlyList<string>> MachineSourcesAsync(string directory)
    {
        var list = await RunAsync("dotnet", ["nuget", "list", "source", "--format", "short"], directory, TimeSpan.FromSeconds(60));
        Assert.True(list.Exit == 0, list.Output);
        // One line per source: E (enabled) or D (disabled), a space, its URL or folder.
        var sources = list.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => l[2..].Trim()).ToList();
        Assert.True(sources.Count > 0, $"no enabled NuGet source on this machine:\n{list.Output}");
        return sources;
    }

    /// <summary>This run's version of each package, out of the shared NuGet cache (nobody else uses it).</summary>
    private static void RemoveFromPackageCache(string version)
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Packages)
        {
            var package = Path.Combine(cache, id.ToLowerInvariant());
            var folder = Path.Combine(package, version);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            // The package's own folder too when this run's version was all it held.
            if (Directory.Exists(package) && !Directory.EnumerateFileSystemEntries(package).Any())
            {
                Directory.Delete(package);
            }
        }
    }

    private static string RepositoryRoot()
    {
        // tests/ResultGrid.Tests/bin/<Configuration>/net10.0/ → the repository.
        var root = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        Assert.True(File.Exists(Path.Combine(root, "scripts", "pack.sh")), $"{root} is not the repository");
        return root;
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>
    /// Runs a program to its end within <paramref name="timeout"/> (killed past it): exit code and
    /// stdout and stderr together. MSBuild's variables of the test run's own `dotnet test` are not
    /// passed on, so each build is the one a user would run.
    /// </summary>
    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        var (exit, output) = await ProcessTests.RunInterleavedAsync(info, timeout);
        Assert.True(exit.HasValue, $"{file} {string.Join(' ', info.ArgumentList)} did not end within {timeout}:\n{output}");
        return (exit.Value, output);
    }
}
