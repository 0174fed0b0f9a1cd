using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>
/// The silo's result store, made from the backend URL once, and initialised (connected) in the
/// silo lifecycle before grains take calls, so a backend that cannot be reached fails start-up
/// with a message naming it.
/// </summary>
public sealed partial class ResultStores : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly Lazy<IResultStore> _default;
    private readonly ILogger<ResultStores> _logger;
    private readonly string _redactedUrl;

    public ResultStores(IServiceProvider services, ResultStoreProviderRegistry registry, IOptions<ResultGridOptions> options, ILogger<ResultStores> logger)
    {
        _logger = logger;
        var url = options.Value.Backend;
        _redactedUrl = BackendUrl.TryParse(url, out var parsed, out _) ? parsed.Redacted : "(invalid)";
        _default = new Lazy<IResultStore>(() => registry.Create(services, "default", url));
    }

    /// <summary>The store results are written to and read from.</summary>
    public IResultStore Default => _default.Value;

    /// <summary>The backend URL with any password hidden.</summary>
    public string RedactedUrl => _redactedUrl;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ResultStores), ServiceLifecycleStage.ApplicationServices, InitializeAsync);

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Default.InitializeAsync(cancellationToken);
            LogReady(_logger, _redactedUrl);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogInitFailed(_logger, ex, _redactedUrl);
            throw new InvalidOperationException($"The result backend {_redactedUrl} could not be initialised: {ex.Message}", ex);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Result backend {Backend} is ready")]
    private static partial void LogReady(ILogger logger, string backend);

    [LoggerMessage(2, LogLevel.Error, "Result backend {Backend} could not be initialised")]
    private static partial void LogInitFailed(ILogger logger, Exception exception, string backend);
}
