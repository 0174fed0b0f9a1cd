namespace ResultGrid.Grains;

/// <summary>Accepts writes on the silo that receives them; as many activations as load needs.</summary>
[Orleans.Concurrency.StatelessWorker, Orleans.Concurrency.Reentrant]
internal sealed class ResultWriterGrain(ResultWriteService writes) : Grain, IResultWriterGrain
{
    public Task<WriteOutcome> WriteAsync(TaskResult result, TimeSpan? expires) => writes.WriteAsync(result, expires);
}
