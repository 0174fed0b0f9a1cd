using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// The silo's result store, made from the backend URL once, and initialised (connected) in the
/// silo lifecycle before grains take calls, so a backend that cannot be reached fails start-up
/// with a message naming it. With <see cref="ResultGridOptions.SecondaryBackend"/> set, the
/// store is a <see cref="DualWriteResultStore"/> over both backends (live migration).
/// </summary>
internal sealed partial class ResultStores : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly Lazy<IResultStore> _default;
    private readonly ILogger<ResultStores> _logger;
    private readonly string _redactedUrl;
    private readonly string? _secondaryRedactedUrl;

    public ResultStores(IServiceProvider services, ResultStoreProviderRegistry registry, IOptions<ResultGridOptions> options, ILogger<ResultStores> logger)
    {
        _logger = logger;
        var url = options.Value.Backend;
        var secondary = options.Value.SecondaryBackendUrl;
        _redactedUrl = Redact(url);
        _secondaryRedactedUrl = secondary is null ? null : Redact(secondary);
        _default = new Lazy<IResultStore>(() => secondary is null
            ? registry.Create(services, "default", url)
            : new DualWriteResultStore(
                registry.Create(services, "default", url),
                _redactedUrl,
                registry.Create(services, "secondary", secondary),
                _secondaryRedactedUrl!,
                services.GetService<ILoggerFactory>()?.CreateLogger<DualWriteResultStore>(),
                services.GetService<IMeterFactory>()));
    }

    /// <summary>The store results are written to and read from.</summary>
    public IResultStore Default => _default.Value;

    /// <summary>The (primary) backend URL with any password hidden.</summary>
    public string RedactedUrl => _redactedUrl;

    /// <summary>The secondary backend URL with any password hidden; null unless dual-write is on.</summary>
    public string? SecondaryRedactedUrl => _secondaryRedactedUrl;

    /// <summary>The backend for logs: the URL, and in dual-write mode both URLs.</summary>
    public string Description => _secondaryRedactedUrl is null ? _redactedUrl : $"{_redactedUrl} (dual-write, secondary {_secondaryRedactedUrl})";

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ResultStores), ServiceLifecycleStage.ApplicationServices, InitializeAsync);

    private static string Redact(string? url) => BackendUrl.TryParse(url, out var parsed, out _) ? parsed.Redacted : "(invalid)";

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Default.InitializeAsync(cancellationToken);
            LogReady(_logger, Description);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogInitFailed(_logger, ex, Description);
            // A dual-write store's message already names the side that failed.
            throw new InvalidOperationException(
                _secondaryRedactedUrl is null
                    ? $"The result backend {_redactedUrl} could not be initialised: {ex.Message}"
                    : $"Dual-write mode could not start: {ex.Message}",
                ex);
        }

        if (_secondaryRedactedUrl is null)
        {
            LogSingleBackend(_logger, _redactedUrl);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Result backend {Backend} is ready")]
    private static partial void LogReady(ILogger logger, string backend);

    [LoggerMessage(2, LogLevel.Error, "Result backend {Backend} could not be initialised")]
    private static partial void LogInitFailed(ILogger logger, Exception exception, string backend);

    [LoggerMessage(3, LogLevel.Information, "Single-backend mode: results are written to and read from {Backend} only (ResultGrid:SecondaryBackend is not set)")]
    private static partial void LogSingleBackend(ILogger logger, string backend);
}
