using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MySqlConnector;
using Npgsql;

namespace ResultGrid.Tests;

/// <summary>
/// The setup guides under docs/ run: every shell block marked <c>runnable</c> is run with bash
/// against the real servers the other tests use, so a guide whose commands stop working fails
/// here; and every relative link in them points to a file that exists.
/// </summary>
/// <remarks>
/// A block gets what docs/README.md promises and nothing else: <c>resultgrid</c> and
/// <c>resultgrid-silo</c> on PATH (the built CLI and silo host), <c>$REDIS_URL</c> (a database of its own on the tests' redis-server, emptied
/// before each block), <c>$POSTGRES_URL</c> and <c>$MARIADB_URL</c> (a database <c>docs</c>,
/// created afresh for each block that names it), <c>$PYTHON</c> (Debian's python3, with Celery)
/// and an empty working directory. It runs under <c>bash -euo pipefail</c>, so any command
/// that fails fails the block.
/// </remarks>
public sealed partial class DocsTests(RedisCluster redis, PostgresCluster postgres, MariaDbCluster maria)
{
    /// <summary>The Redis database the blocks get: one no other test writes, so that a flush before each block harms nobody.</summary>
    private const int RedisDatabase = 14;

    private const string DocsDatabase = "docs";

    /// <summary>The longest one block may take; the whole set is meant to run in well under two minutes.</summary>
    private static readonly TimeSpan BlockTimeout = TimeSpan.FromSeconds(90);

    /// <summary>What in a block's text shows which server it uses, for its row's Backend trait.</summary>
    private static readonly (string Text, string Backend)[] ServersNamed =
        [("REDIS_URL", "redis"), ("redis-server", "redis"), ("POSTGRES_URL", "postgresql"), ("MARIADB_URL", "mariadb"), ("sqlite", "sqlite")];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>tests/ResultGrid.Tests/bin/&lt;Configuration&gt;/net10.0 → the repository root, as the other tests find scripts and projects.</summary>
    private static string RepositoryRoot => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    private static string DocsFolder => Path.Combine(RepositoryRoot, "docs");

    private static IEnumerable<DocsBlock> AllBlocks() =>
        Directory.GetFiles(DocsFolder, "*.md").Order(StringComparer.Ordinal)
            .SelectMany(path => DocsBlock.Parse(Path.GetFileName(path), File.ReadAllText(path)));

    /// <summary>File and line of every runnable block; each row carries a Backend trait per server its text names.</summary>
    public static TheoryData<string, int> RunnableBlocks => new(AllBlocks().Where(b => b.IsRunnable).Select(b =>
        {
            var row = new TheoryDataRow<string, int>(b.File, b.Line);
            foreach (var backend in ServersNamed.Where(s => b.Text.Contains(s.Text, StringComparison.Ordinal)).Select(s => s.Backend).Distinct(StringComparer.Ordinal))
            {
                row = row.WithTrait("Backend", backend);
            }

            return row;
        }));

    [Theory]
    [MemberData(nameof(RunnableBlocks))]
    public async Task Runnable_block_exits_zero(string file, int line)
    {
        var block = DocsBlock.Parse(file, await File.ReadAllTextAsync(Path.Combine(DocsFolder, file), Ct)).Single(b => b.Line == line);
        var work = Directory.CreateTempSubdirectory("rg-docs-");
        try
        {
            var environment = await EnvironmentForAsync(block, work.FullName);
            var script = Path.Combine(work.FullName, ".block.sh");
            // The first line names the command that failed and its line in the guide (the block
            // starts one line below its fence, and this line shifts it by one more).
            var trap = $"trap 'echo \"docs/{file}:$((LINENO + {line - 1})): exited $? at: $BASH_COMMAND\" >&2' ERR\n";
            await File.WriteAllTextAsync(script, trap + block.Text, Ct);

            var (exit, output) = await RunAsync(script, work.FullName, environment);

            Assert.True(exit == 0, $"docs/{file}:{line}: the runnable block exited {exit}. Its output:\n{output}\nThe block:\n{block.Text}");
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public void Every_relative_link_in_the_guides_points_to_an_existing_file()
    {
        var broken = new List<string>();
        foreach (var path in Directory.GetFiles(DocsFolder, "*.md").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(path);
            var insideFence = false;
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    insideFence = !insideFence;
                }

                if (insideFence)
                {
                    continue;
                }

                foreach (Match link in MarkdownLink().Matches(lines[i]))
                {
                    var target = link.Groups["target"].Value;
                    if (target.StartsWith('#') || target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var relative = Uri.UnescapeDataString(target.Split('#')[0]);
                    var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, relative));
                    if (!File.Exists(resolved) && !Directory.Exists(resolved))
                    {
                        broken.Add($"docs/{Path.GetFileName(path)}:{i + 1}: {target} (no {resolved})");
                    }
                }
            }
        }

        Assert.True(broken.Count == 0, "links to nothing:\n" + string.Join('\n', broken));
    }

    [Fact]
    public void Every_guide_has_a_runnable_block_and_the_index_links_every_guide()
    {
        var guides = Directory.GetFiles(DocsFolder, "*.md").Select(Path.GetFileName).Where(f => f != "README.md").Order(StringComparer.Ordinal).ToList();
        var runnable = AllBlocks().Where(b => b.IsRunnable).Select(b => b.File).ToHashSet(StringComparer.Ordinal);
        var index = File.ReadAllText(Path.Combine(DocsFolder, "README.md"));

        Assert.NotEmpty(guides);
        Assert.All(guides, guide => Assert.True(runnable.Contains(guide!), $"docs/{guide} has no ```bash runnable block: nothing checks that its commands still work"));
        Assert.All(guides, guide => Assert.Contains($"({guide})", index, StringComparison.Ordinal));
    }

    [Fact]
    public void The_block_parser_finds_runnable_blocks_and_only_those()
    {
        const string markdown = "intro\n```bash runnable\necho one\n```\n```bash\necho two\n```\n````markdown\n```bash runnable\nnot a block\n```\n````\n~~~sh runnable\necho three\n~~~\n";

        var blocks = DocsBlock.Parse("x.md", markdown);

        Assert.Equal([(2, true, "echo one\n"), (5, false, "echo two\n"), (8, false, "```bash runnable\nnot a block\n```\n"), (13, true, "echo three\n")],
            blocks.Select(b => (b.Line, b.IsRunnable, b.Text)));
    }

    /// <summary>The variables and the PATH a block runs with; the servers' databases emptied for it.</summary>
    private async Task<Dictionary<string, string>> EnvironmentForAsync(DocsBlock block, string work)
    {
        var bin = Directory.CreateDirectory(Path.Combine(work, ".bin")).FullName;
        // The built programs, as a user runs them once installed: `resultgrid` (the CLI) and
        // `resultgrid-silo` (the silo host, what `dotnet ResultGrid.Silo.dll` starts).
        foreach (var (command, project, assembly) in new[] { ("resultgrid", "src/Cli", "resultgrid"), ("resultgrid-silo", "src/Silo", "ResultGrid.Silo") })
        {
            var wrapper = Path.Combine(bin, command);
            await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec dotnet '{ProcessTests.Built(project, assembly)}' \"$@\"\n", Ct);
            // The blocks are bash, run where bash runs: the guard only satisfies the platform analyzer.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            }
        }

        var testRedis = await redis.Server.UrlAsync();
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
            ["RESULTGRID_TEST_REDIS"] = testRedis,
            ["REDIS_URL"] = $"redis://127.0.0.1:{redis.Server.Port}/{RedisDatabase}",
            ["REDIS_PORT"] = redis.Server.Port.ToString(CultureInfo.InvariantCulture),
            ["POSTGRES_URL"] = $"db+postgresql://{SqlServerProcess.User}:{SqlServerProcess.Password}@127.0.0.1:{postgres.Server.Port}/{DocsDatabase}",
            ["MARIADB_URL"] = $"db+mysql://{SqlServerProcess.User}:{SqlServerProcess.Password}@127.0.0.1:{maria.Server.Port}/{DocsDatabase}",
            // Debian's python3 has Celery (scripts/test.sh installs python3-celery); the first python3 on PATH may not.
            ["PYTHON"] = "/usr/bin/python3",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };

        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Server.Port},allowAdmin=true"))
        {
            await admin.GetServers()[0].FlushDatabaseAsync(RedisDatabase);
        }

        if (block.Text.Contains("POSTGRES_URL", StringComparison.Ordinal))
        {
            await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={postgres.Server.Port};Username={SqlServerProcess.User};Password={SqlServerProcess.Password};Database=postgres;Pooling=false");
            await connection.OpenAsync(Ct);
            foreach (var statement in new[] { $"DROP DATABASE IF EXISTS {DocsDatabase} WITH (FORCE)", $"CREATE DATABASE {DocsDatabase}" })
            {
                await using var command = new NpgsqlCommand(statement, connection);
                await command.ExecuteNonQueryAsync(Ct);
            }
        }

        if (block.Text.Contains("MARIADB_URL", StringComparison.Ordinal))
        {
            await using var connection = new MySqlConnection($"Server=127.0.0.1;Port={maria.Server.Port};User ID={SqlServerProcess.User};Password={SqlServerProcess.Password};Pooling=false");
            await connection.OpenAsync(Ct);
            await using var command = new MySqlCommand($"DROP DATABASE IF EXISTS {DocsDatabase}; CREATE DATABASE {DocsDatabase} CHARACTER SET utf8mb4", connection);
            await command.ExecuteNonQueryAsync(Ct);
        }

        return environment;
    }

    /// <summary>Runs the block under bash -Eeuo pipefail (-E: the ERR trap reaches functions too), with stdout and stderr interleaved as a terminal shows them.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string script, string work, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash", ["-Eeuo", "pipefail", script])
        {
            WorkingDirectory = work,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // The test process's own ResultGrid settings (ChildProcessEnvironment's HTTP port, anything
        // from the caller's shell) are not the guide's: a block sets what it needs.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("RESULTGRID", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var (exit, output) = await ProcessTests.RunInterleavedAsync(info, BlockTimeout);
        return exit is { } code ? (code, output) : (-1, $"{output}\n(killed after {BlockTimeout.TotalSeconds} s)");
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();
}
