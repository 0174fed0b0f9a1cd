using System.Diagnostics.Metrics;

namespace ResultGrid.Tests;

/// <summary>
/// Counts the activations of one grain class created in this process (every silo of the
/// in-process clusters) while it is alive, from Orleans' own grain statistics: the
/// <c>orleans-grains</c> up-down counter, which each silo's catalog adds 1 to, tagged with the
/// grain class, whenever it creates an activation. Only meaningful in the <see cref="Serial"/>
/// collection, where no other test creates activations meanwhile.
/// </summary>
public sealed class ActivationCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _grainClass;
    private int _created;

    public ActivationCounter(string grainClass)
    {
        _grainClass = grainClass;
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
                // The tag is the class's runtime name, "ResultGrid.Grains.TaskResultGrain,ResultGrid.Grains".
                if (tag.Key == "type" && tag.Value is string type && type.Split(',')[0].EndsWith("." + _grainClass, StringComparison.Ordinal))
                {
                    Interlocked.Add(ref _created, value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Activations of the grain class created since this counter started.</summary>
    public int Created => Volatile.Read(ref _created);

    public void Dispose() => _listener.Dispose();
}
