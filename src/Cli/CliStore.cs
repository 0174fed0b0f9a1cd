using Microsoft.Extensions.Configuration;
using ResultGrid.Hosting;
using ResultGrid.Storage;

namespace ResultGrid.Cli;

/// <summary>
/// A store built from a backend URL exactly as a silo builds it (the same providers; options
/// from the environment, where credentials belong), for the commands that talk to a backend
/// directly. A URL that cannot be used is reported in one line on stderr and leaves
/// <see cref="Store"/> null (exit code 2).
/// </summary>
internal sealed class CliStore : IAsyncDisposable
{
    private readonly OperatorStore? _opened;

    private CliStore(OperatorStore? opened, IResultStore? store, string redacted)
    {
        _opened = opened;
        Store = store;
        Redacted = redacted;
    }

    public IResultStore? Store { get; }

    /// <summary>The URL with any password hidden.</summary>
    public string Redacted { get; }

    // configuration: where the stores' options come from (the environment when null);
    // readOnly: never create tables or indexes, for a command that reports what is there.
    public static async Task<CliStore> CreateAsync(string command, string url, bool allowAdmin = false, IConfiguration? configuration = null, bool readOnly = false)
    {
        if (!BackendUrl.TryParse(url, out var parsed, out var error))
        {
            await Console.Error.WriteLineAsync($"resultgrid {command}: {error}");
            return new CliStore(null, null, string.Empty);
        }

        if (parsed.Scheme is "memory" or "rpc")
        {
            await Console.Error.WriteLineAsync($"resultgrid {command}: {parsed.Scheme}:// lives inside a running cluster's memory, so there is no server to reach; give a redis://, rediss:// or db+ URL.");
            return new CliStore(null, null, parsed.Redacted);
        }

        var (opened, problem) = await OperatorStore.CreateAsync(command, url, configuration ?? new ConfigurationBuilder().AddEnvironmentVariables().Build(), allowAdmin, readOnly);
        if (opened is null)
        {
            await Console.Error.WriteLineAsync($"resultgrid {command}: {problem}");
            return new CliStore(null, null, parsed.Redacted);
        }

        return new CliStore(opened, opened.Store, parsed.Redacted);
    }

    /// <summary>Connects; on failure writes one line naming the backend and the reason, and returns false (exit code 1).</summary>
    public async Task<bool> ConnectAsync(string command, CancellationToken cancellationToken)
    {
        try
        {
            await Store!.InitializeAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"resultgrid {command}: {Redacted}: {BackendCheck.Reason(ex)}");
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_opened is not null)
        {
            await _opened.DisposeAsync();
        }
    }
}
