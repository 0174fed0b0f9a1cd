using Orleans.Runtime;

namespace ResultGrid.Grains;

/// <summary>
/// A loop that runs while the silo is active: started when the silo reaches
/// <see cref="ServiceLifecycleStage.Active"/>, stopped (and awaited) when it leaves it, so it
/// never calls a grain before the silo can answer or after it has gone.
/// </summary>
internal abstract class SiloBackgroundLoop(string name) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            name,
            ServiceLifecycleStage.Active,
            _ =>
            {
                OnStarting();
                _loop = RunAsync(_stopping.Token);
                return Task.CompletedTask;
            },
            async _ =>
            {
                await _stopping.CancelAsync();
                if (_loop is not null)
                {
                    await _loop.ConfigureAwait(false);
                }
            });

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stopping.Dispose();
        }
    }

    /// <summary>Called once, as the silo becomes active, before the loop starts.</summary>
    protected virtual void OnStarting()
    {
    }

    /// <summary>The loop; <paramref name="stopping"/> is cancelled when the silo stops, and the loop should then end.</summary>
    protected abstract Task RunAsync(CancellationToken stopping);
}
