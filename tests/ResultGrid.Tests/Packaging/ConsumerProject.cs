using System.Globalization;
using System.Security;
using System.Xml.Linq;

namespace ResultGrid.Tests;

/// <summary>
/// The programs of a team that adopts ResultGrid from NuGet, written into a folder outside the
/// repository: a silo host that references ResultGrid.Hosting alone, and a worker-and-client
/// program (samples/Quickstart's steps) that references ResultGrid.Client alone. Each takes only
/// PackageReferences, restored through a nuget.config that names the packed folder and the
/// machine's own sources; empty Directory.Build.props/.targets/.Packages.props stop MSBuild from
/// looking further up. Two projects, so that a dependency missing from the client's package is
/// not hidden by the silo package bringing it.
/// </summary>
internal static class ConsumerProject
{
    public const string SiloProject = "ConsumerSilo";
    public const string ClientProject = "ConsumerClient";
    public const string Solution = "consumer.slnx";

    /// <summary>The silo: what src/Silo is, from the package, plus one task for the client to submit.</summary>
    private const string SiloProgram = """
        using ResultGrid.Hosting;

        return await ResultGridSiloHost.RunAsync(args, silo => silo
            .AddResultGridTask<int[], int>("consumer.sum", (numbers, context) => Task.FromResult(numbers.Sum())));
        """;

    /// <summary>The worker and the client: samples/Quickstart's steps, printing what the test asserts.</summary>
    private const string ClientProgram = """
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Microsoft.Extensions.Logging;
        using ResultGrid;
        using ResultGrid.Client;
        using ResultGrid.Hosting;

        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var silo = builder.Configuration.GetSection("ResultGrid:Silo");
        builder.UseOrleansClient(client => client
            .UseLocalhostClustering(silo.GetValue("GatewayPort", 30000), silo.GetValue("ServiceId", "resultgrid")!, silo.GetValue("ClusterId", "resultgrid-dev")!)
            .AddResultGridClient());
        using var host = builder.Build();
        await host.StartAsync();
        var results = host.Services.GetRequiredService<IResultGridClient>();

        // A reader waits (woken by the write) while the worker reports progress and succeeds.
        var id = TaskIds.NewId();
        var waiting = results.WaitAsync<Report>(id, timeout: TimeSpan.FromSeconds(30));
        await results.MarkStartedAsync(id, new ResultWriteOptions { Name = "reports.build", Worker = "consumer" });
        for (var step = 1; step <= 3; step++)
        {
            await results.UpdateStateAsync(id, "PROGRESS", new Progress(step, 3));
            var now = await results.GetAsync(id);
            Console.WriteLine($"progress {id}: {now.State} {now.GetMeta<Progress>()}");
        }

        await results.MarkSucceededAsync(id, new Report("Q3", 1234.5m, ["north", "south"]));
        var outcome = await waiting;
        Console.WriteLine($"awaited {id}: {outcome.State} {outcome.Value}");
        Console.WriteLine($"stored {id}: {(await results.GetAsync(id)).State}");

        // A failure comes back as a typed exception.
        var failing = TaskIds.NewId();
        await results.MarkFailedAsync(failing, new InvalidOperationException("the report source is offline"));
        try
        {
            await results.WaitAsync<Report>(failing, TimeSpan.FromSeconds(10));
        }
        catch (TaskFailedException ex)
        {
            Console.WriteLine($"failed {failing}: FAILURE {ex.RemoteType}: {ex.Failure!.Message}");
        }

        // A task run by the silo's task runner.
        var handle = await results.SubmitAsync("consumer.sum", new[] { 1, 2, 3 });
        var sum = await handle.WaitAsync<int>(TimeSpan.FromSeconds(30));
        Console.WriteLine($"task {handle.TaskId}: {sum.State} {sum.Value}");

        await host.StopAsync();
        return 0;

        internal sealed record Progress(int Current, int Total);

        internal sealed record Report(string Quarter, decimal Total, string[] Regions)
        {
            public override string ToString() => $"Report {{ Quarter = {Quarter}, Total = {Total}, Regions = [{string.Join(", ", Regions)}] }}";
        }
        """;

    /// <summary>
    /// Writes both projects, their solution and their nuget.config into <paramref name="directory"/>:
    /// ResultGrid's packages at <paramref name="version"/> from <paramref name="feed"/> (the folder
    /// scripts/pack.sh wrote), everything else from <paramref name="sources"/> (the machine's
    /// enabled NuGet sources), at the pins of <paramref name="repositoryRoot"/>'s Directory.Packages.props.
    /// </summary>
    public static async Task WriteAsync(string directory, string repositoryRoot, string feed, string version, IReadOnlyList<string> sources, CancellationToken cancellationToken)
    {
        // The repository's pins of the packages the client program names itself.
        var pins = XDocument.Load(Path.Combine(repositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.Ordinal);

        // MSBuild looks for these from the project's folder upwards: empty ones here end the search.
        foreach (var shield in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            await File.WriteAllTextAsync(Path.Combine(directory, shield), "<Project />\n", cancellationToken);
        }

        var sourceLines = string.Concat(sources.Select((s, i) => $"    <add key=\"machine-{i}\" value=\"{SecurityElement.Escape(s)}\" />\n"));
        await File.WriteAllTextAsync(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="resultgrid-packed" value="{SecurityElement.Escape(feed)}" />
            {sourceLines}  </packageSources>
            </configuration>

            """, cancellationToken);

        await WriteProjectAsync(directory, SiloProject, SiloProgram, [("ResultGrid.Hosting", version)], cancellationToken);
        await WriteProjectAsync(directory, ClientProject, ClientProgram, [("ResultGrid.Client", version), ("Microsoft.Extensions.Hosting", pins["Microsoft.Extensions.Hosting"])], cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, Solution), $"""
            <Solution>
              <Project Path="{SiloProject}/{SiloProject}.csproj" />
              <Project Path="{ClientProject}/{ClientProject}.csproj" />
            </Solution>

            """, cancellationToken);
    }

    /// <summary>The built program of <paramref name="project"/>.</summary>
    public static string Built(string directory, string project) => Path.Combine(directory, project, "bin", "Release", "net10.0", project + ".dll");

    private static async Task WriteProjectAsync(string directory, string name, string program, (string Id, string Version)[] packages, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        var references = string.Concat(packages.Select(p => string.Create(CultureInfo.InvariantCulture, $"    <PackageReference Include=\"{p.Id}\" Version=\"{p.Version}\" />\n")));
        await File.WriteAllTextAsync(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
            {references}  </ItemGroup>
            </Project>

            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), program + "\n", cancellationToken);
    }
}
