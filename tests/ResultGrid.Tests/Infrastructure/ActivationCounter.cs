using System.Diagnostics.Metrics;

namespace ResultGrid.Tests;

/// <summary>
/// Counts the activations of one grain type created in this process (every silo of the
/// in-process clusters) while it is alive, from Orleans' own grain statistics: the
/// <c>orleans-grains</c> up-down counter, to which each silo's catalog adds 1, tagged
/// <c>grain_type</c>, whenever it creates an activation. Only meaningful in the
/// <see cref="Serial"/> collection, where no other test creates activations meanwhile.
/// </summary>
public sealed class ActivationCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _grainType;
    private int _created;

    private ActivationCounter(GrainType grainType)
    {
        _grainType = grainType.ToString()!;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Microsoft.Orleans" && instrument.Name == "orleans-grains")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            if (value <= 0)
            {
                return;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == "grain_type" && tag.Value is string type && type == _grainType)
                {
                    Interlocked.Add(ref _created, value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Counts TaskResultGrain activations (the grain type as Orleans names it, taken from a reference, never spelled here).</summary>
    public static ActivationCounter ResultGrains(IGrainFactory grains) =>
        new(grains.GetGrain<ITaskResultGrain>("activation-counter-probe").GetGrainId().Type);

    /// <summary>Activations of the grain type created since this counter started.</summary>
    public int Created => Volatile.Read(ref _created);

    public void Dispose() => _listener.Dispose();
}
