using System.Collections;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Hosting;

namespace ResultGrid.Hosting.Doctor;

/// <summary>
/// The configuration a silo started in <see cref="Directory"/> would see, built by the very same
/// host builder the silo uses (appsettings.json, appsettings.{Environment}.json, environment
/// variables, the <c>DOTNET_</c> ones included), or a running host's own
/// (<see cref="FromHost"/>), plus where each value came from: a file or an environment variable.
/// Never holds on to a value longer than a check needs it.
/// </summary>
public sealed class DoctorConfiguration : IDisposable
{
    /// <summary>The silo host's assembly name (src/Silo), which the host takes for the application's name.</summary>
    private const string SiloApplicationName = "ResultGrid.Silo";

    // Only what Load built is disposed: a host's configuration belongs to the host.
    private readonly IDisposable? _owned;

    private DoctorConfiguration(IConfigurationRoot root, IDisposable? owned, string directory, string environment)
    {
        Root = root;
        _owned = owned;
        Directory = directory;
        Environment = environment;
    }

    public IConfigurationRoot Root { get; }

    public string Directory { get; }

    /// <summary>The host environment, as the silo would pick it (DOTNET_ENVIRONMENT, default Production).</summary>
    public string Environment { get; }

    /// <summary>What a silo started in <paramref name="directory"/> would read, for <c>resultgrid doctor</c>.</summary>
    public static DoctorConfiguration Load(string directory, string? environment)
    {
        var manager = new ConfigurationManager();
        // Read once: no file watchers for a command that exits in a second.
        manager.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = directory,
            EnvironmentName = environment,
            // The silo's assembly name: the host also reads {ApplicationName}.settings.json.
            ApplicationName = SiloApplicationName,
            Configuration = manager,
        });
        return new DoctorConfiguration(manager, manager, directory, builder.Environment.EnvironmentName);
    }

    /// <summary>
    /// A running host's own configuration, for the silo's doctor page: its providers are the
    /// host's (files in <paramref name="contentRoot"/>, environment variables, the command line),
    /// so each value's source is told as the host read it. Not disposed with this.
    /// </summary>
    public static DoctorConfiguration FromHost(IConfigurationRoot root, string contentRoot, string environment)
    {
        ArgumentNullException.ThrowIfNull(root);
        return new DoctorConfiguration(root, null, contentRoot, environment);
    }

    /// <summary>The settings files the silo reads here, with whether each exists.</summary>
    public IEnumerable<(string Name, bool Exists)> Files => SettingsFiles().Select(f => (f.Source.Path ?? "?", PhysicalPath(f) is { } path && File.Exists(path)));

    /// <summary>Every value each settings file in the directory holds, whether or not a later source overrides it.</summary>
    public IEnumerable<(string File, string Key, string Value)> FileEntries() =>
        from file in SettingsFiles()
        where PhysicalPath(file) is { } path && File.Exists(path)
        from key in Keys(file, null)
        let value = file.TryGet(key, out var v) ? v : null
        where !string.IsNullOrEmpty(value)
        select (PhysicalPath(file)!, key, value);

    /// <summary>Every non-empty value held by any source, overridden or not: the texts output must never contain when they are secrets.</summary>
    public IEnumerable<(string Key, string Value)> AllEntries() =>
        from provider in Root.Providers
        from key in Keys(provider, null)
        let value = provider.TryGet(key, out var v) ? v : null
        where !string.IsNullOrEmpty(value)
        select (key, value);

    /// <summary>
    /// Where the effective value of <paramref name="key"/> (or of the first entry under it, for a
    /// list) comes from: a file name, <c>environment VAR</c>, or null for the options' default.
    /// </summary>
    public string? SourceOf(string key)
    {
        var keys = new[] { key }.Concat(Root.GetSection(key).AsEnumerable().Select(p => p.Key).Where(k => k.Length > key.Length));
        foreach (var candidate in keys)
        {
            var provider = Root.Providers.Reverse().FirstOrDefault(p => p.TryGet(candidate, out _));
            switch (provider)
            {
                case null:
                    continue;
                case FileConfigurationProvider file:
                    return file.Source.Path;
                case EnvironmentVariablesConfigurationProvider:
                    return "environment " + (EnvironmentVariableOf(candidate) ?? EnvironmentName(candidate));
                default:
                    return provider.ToString();
            }
        }

        return null;
    }

    /// <summary>The environment variable that sets <paramref name="key"/>, as the silo's configuration spells it: <c>RESULTGRID__REDIS__PASSWORD</c>.</summary>
    public static string EnvironmentName(string key) => key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant();

    /// <summary>
    /// Whether git tracks <paramref name="path"/>: true, false, or null when that cannot be told
    /// (no git, not a repository). Asked because a secret in a tracked file is in its history for good.
    /// </summary>
    public static async Task<bool?> TrackedByGitAsync(string path)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-C", Path.GetDirectoryName(path)!, "ls-files", "--error-unmatch", "--", Path.GetFileName(path) })
        {
            info.ArgumentList.Add(argument);
        }

        Process git;
        try
        {
            git = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no git on this machine
        }

        using (git)
        {
            try
            {
                var output = git.StandardOutput.ReadToEndAsync();
                var error = git.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await git.WaitForExitAsync(timeout.Token);
                await Task.WhenAll(output, error);
                // 1: a repository that does not track the file; 128: no repository at all.
                return git.ExitCode switch { 0 => true, 1 => false, _ => null };
            }
            catch (OperationCanceledException)
            {
                // A git that hangs (a network file system, a lock) is not left running behind us.
                git.Kill(entireProcessTree: true);
                return null;
            }
        }
    }

    public void Dispose() => _owned?.Dispose();

    // Only files in the configuration directory: a user-secrets file elsewhere is no committed file.
    private IEnumerable<FileConfigurationProvider> SettingsFiles() =>
        Root.Providers.OfType<FileConfigurationProvider>().Where(f => PhysicalPath(f) is { } path && Path.GetDirectoryName(Path.GetFullPath(path)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(Directory)));

    private static string? PhysicalPath(FileConfigurationProvider file) =>
        file.Source.Path is { } relative ? file.Source.FileProvider?.GetFileInfo(relative).PhysicalPath : null;

    private static IEnumerable<string> Keys(IConfigurationProvider provider, string? parent)
    {
        foreach (var child in provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var path = parent is null ? child : ConfigurationPath.Combine(parent, child);
            yield return path;
            foreach (var below in Keys(provider, path))
            {
                yield return below;
            }
        }
    }

    private static string? EnvironmentVariableOf(string key)
    {
        foreach (DictionaryEntry variable in System.Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            var path = name.Replace("__", ":", StringComparison.Ordinal);
            // The host reads DOTNET_-prefixed variables too, without their prefix.
            if (path.Equals(key, StringComparison.OrdinalIgnoreCase) ||
                (path.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase) && path["DOTNET_".Length..].Equals(key, StringComparison.OrdinalIgnoreCase)))
            {
                return name;
            }
        }

        return null;
    }
}
