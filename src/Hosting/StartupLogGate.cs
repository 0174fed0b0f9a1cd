using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ResultGrid.Hosting;

/// <summary>
/// Holds back the console's error log entries while the host starts, so that a start that fails
/// is told once, by the host's own handler, in a few lines on stderr, instead of by five loggers
/// (the store, Orleans' lifecycle twice, the silo, and the hosting framework's "Hosting failed to
/// start") with the same stack trace each, up to 170 lines on stdout. When the start succeeds,
/// what was held is written after all, in order, so nothing that a silo recovered from is lost;
/// when it fails, it is dropped (the handler's message has the reasons, <c>--verbose</c> shows
/// every entry as it happens). Entries below Error without an exception are never held: progress
/// stays visible.
/// </summary>
internal sealed class StartupLogGate
{
    private enum State { Holding, Open, Dropping }

    private readonly Lock _lock = new();
    private readonly List<Action> _held = [];
    private State _state = State.Holding;

    /// <summary>
    /// Wraps the console logger provider of <paramref name="logging"/> in the gate. With no console
    /// provider (logging cleared by configuration), the gate has nothing to hold.
    /// </summary>
    public static StartupLogGate Install(ILoggingBuilder logging)
    {
        var gate = new StartupLogGate();
        var services = logging.Services;
        // Orleans registers keyed services, whose ImplementationType must not be asked for.
        var console = services.FirstOrDefault(d => !d.IsKeyedService && d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        if (console is null)
        {
            gate.Open();
            return gate;
        }

        services.Remove(console);
        services.AddSingleton<ConsoleLoggerProvider>();
        services.AddSingleton<ILoggerProvider>(sp => new GatedConsoleLoggerProvider(sp.GetRequiredService<ConsoleLoggerProvider>(), gate));
        return gate;
    }

    /// <summary>The start succeeded: write what was held, and hold nothing more.</summary>
    public void Open()
    {
        Action[] held;
        lock (_lock)
        {
            _state = State.Open;
            held = [.. _held];
            _held.Clear();
        }

        foreach (var write in held)
        {
            write();
        }
    }

    /// <summary>The start failed and the handler says why: drop what was held, and the errors of the shutdown that follows.</summary>
    public void Drop()
    {
        lock (_lock)
        {
            _state = State.Dropping;
            _held.Clear();
        }
    }

    /// <summary>False when the entry is to be written now; true when it was held or dropped.</summary>
    internal bool Intercept(LogLevel level, Exception? exception, Action write)
    {
        lock (_lock)
        {
            switch (_state)
            {
                // Errors, and anything with a stack trace: progress and plain warnings stay visible.
                case State.Holding when level >= LogLevel.Error || exception is not null:
                    _held.Add(write);
                    return true;
                // The shutdown of a host that never started: Orleans' timers and grains find the
                // service provider disposed and say so with stack traces, which helps nobody.
                case State.Dropping:
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>
    /// The console provider behind the gate. Its alias is the console's, so that
    /// <c>Logging:Console:LogLevel</c> settings still apply to it.
    /// </summary>
    [ProviderAlias("Console")]
    private sealed class GatedConsoleLoggerProvider(ConsoleLoggerProvider inner, StartupLogGate gate) : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => new GatedLogger(inner.CreateLogger(categoryName), gate);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => inner.SetScopeProvider(scopeProvider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class GatedLogger(ILogger inner, StartupLogGate gate) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!gate.Intercept(logLevel, exception, () => inner.Log(logLevel, eventId, state, exception, formatter)))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
