using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;

namespace ResultGrid.Tests;

/// <summary>
/// The SDK gathers the reads its callers have in flight together into one call to the silos'
/// IResultBatchReaderGrain: each caller still gets its own result, a read alone goes alone,
/// single retrieval still hands a result out once, and silos without the batch reader are read
/// one call per read. Calls are counted by an incoming grain call filter on the silo.
/// </summary>
[Trait("Backend", "memory")]
public sealed class GatheredReadsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Calls the silo received, by interface and method.</summary>
    internal sealed class CallCounts
    {
        private readonly ConcurrentDictionary<string, int> _counts = new();

        public void Add(IIncomingGrainCallContext context) =>
            _counts.AddOrUpdate($"{context.InterfaceMethod?.DeclaringType?.Name}.{context.InterfaceMethod?.Name}", 1, (_, n) => n + 1);

        public int this[string method] => _counts.GetValueOrDefault(method);

        public int Batches => this[$"{nameof(IResultBatchReaderGrain)}.{nameof(IResultBatchReaderGrain.GetManyAsync)}"];

        public int Singles => this[$"{nameof(IResultReaderGrain)}.{nameof(IResultReaderGrain.GetAsync)}"];

        public int WriteBatches => this[$"{nameof(IResultBatchWriterGrain)}.{nameof(IResultBatchWriterGrain.WriteManyAsync)}"];

        public int SingleWrites => this[$"{nameof(IResultWriterGrain)}.{nameof(IResultWriterGrain.WriteAsync)}"];
    }

    internal static async Task<(InProcessTestCluster Cluster, CallCounts Calls)> StartAsync(string backend, bool withoutBatchReader = false, bool withoutBatchWriter = false, Action<ResultGridOptions>? configure = null)
    {
        var calls = new CallCounts();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddResultGrid(o =>
            {
                o.Backend = backend;
                configure?.Invoke(o);
            });
            silo.AddIncomingGrainCallFilter(context =>
            {
                calls.Add(context);
                return context.Invoke();
            });
            if (withoutBatchReader)
            {
                // A silo built before the batch reader: its type map has the reader but not this.
                silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.Remove(typeof(ResultBatchReaderGrain)));
            }

            if (withoutBatchWriter)
            {
                silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.Remove(typeof(ResultBatchWriterGrain)));
            }
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        var cluster = builder.Build();
        await cluster.DeployAsync(Ct);
        return (cluster, calls);
    }

    internal static IResultGridClient Client(InProcessTestCluster cluster) => cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();

    /// <summary>Stores 300 results: SUCCESS with its index, FAILURE for every 7th, none for every 10th.</summary>
    private static async Task<string[]> StageAsync(IResultGridClient client)
    {
        var ids = Enumerable.Range(0, 300).Select(i => $"gathered-{i}-{Guid.NewGuid():N}").ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
        {
            if (i % 10 == 0)
            {
                return;
            }

            if (i % 7 == 0)
            {
                await client.MarkFailedAsync(ids[i], new InvalidOperationException($"failed {i}"), cancellationToken: ct);
            }
            else
            {
                await client.MarkSucceededAsync(ids[i], i, cancellationToken: ct);
            }
        });
        return ids;
    }

    private static void AssertEach(string[] ids, TaskResultInfo[] reads)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ids[i], reads[i].TaskId);
            if (i % 10 == 0)
            {
                Assert.Equal(TaskStates.Pending, reads[i].State);
            }
            else if (i % 7 == 0)
            {
                Assert.Equal(TaskStates.Failure, reads[i].State);
                Assert.Contains($"failed {i}", reads[i].Record.Traceback, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(TaskStates.Success, reads[i].State);
                Assert.Equal(i, reads[i].GetValue<int>());
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Reads_in_flight_together_go_in_fewer_calls_and_each_caller_gets_its_own_result()
    {
        var (cluster, calls) = await StartAsync("memory://");
        await using var _ = cluster;
        var client = Client(cluster);
        var ids = await StageAsync(client);

        var reads = await Task.WhenAll(ids.Select(id => client.GetAsync(id, Ct)));

        AssertEach(ids, reads);
        Assert.True(calls.Batches > 0, "300 reads in flight together made no batch call");
        Assert.True(calls.Batches + calls.Singles < ids.Length, $"300 reads took {calls.Batches} batch calls and {calls.Singles} single calls: they were not gathered");

        // A read with nothing else in flight goes alone, in a call of its own.
        var (batches, singles) = (calls.Batches, calls.Singles);
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(i, (await client.GetAsync(ids[i], Ct)).GetValue<int>());
        }

        Assert.Equal(batches, calls.Batches);
        Assert.Equal(singles + 5, calls.Singles);
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Silos_without_the_batch_reader_are_read_one_call_per_read()
    {
        var (cluster, calls) = await StartAsync("memory://", withoutBatchReader: true);
        await using var _ = cluster;
        Assert.Throws<ArgumentException>(() => cluster.Client.GetGrain<IResultBatchReaderGrain>(0));
        var client = Client(cluster);
        var ids = await StageAsync(client);

        var reads = await Task.WhenAll(ids.Select(id => client.GetAsync(id, Ct)));

        AssertEach(ids, reads);
        Assert.Equal(0, calls.Batches);
        Assert.Equal(ids.Length, calls.Singles);
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 60_000)]
    [Trait("Backend", "rpc")]
    public async Task On_rpc_gathered_reads_hand_each_result_out_exactly_once()
    {
        var (cluster, calls) = await StartAsync("rpc://");
        await using var _ = cluster;
        var client = Client(cluster);
        var ids = Enumerable.Range(0, 40).Select(i => $"gathered-rpc-{i}-{Guid.NewGuid():N}").ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            await client.MarkSucceededAsync(ids[i], i, cancellationToken: Ct);
        }

        // Each id read three times, all in flight together: batches carry the same id more than once.
        var reads = await Task.WhenAll(ids.SelectMany(id => Enumerable.Repeat(id, 3)).Select(id => client.GetAsync(id, Ct)));

        Assert.True(calls.Batches > 0, "120 reads in flight together made no batch call");
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var mine = reads.Where(r => r.TaskId == id).ToArray();
            Assert.Equal(3, mine.Length);
            var handedOut = Assert.Single(mine, r => r.State == TaskStates.Success);
            Assert.Equal(i, handedOut.GetValue<int>());
            Assert.Equal(2, mine.Count(r => r.IsConsumed));
        }

        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_with_a_malformed_id_is_refused_naming_it()
    {
        var (cluster, _) = await StartAsync("memory://");
        await using var _c = cluster;
        var batch = cluster.Client.GetGrain<IResultBatchReaderGrain>(0);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => batch.GetManyAsync([TaskIds.NewId(), "bad id\n"]));
        Assert.Contains("ends with white space", error.Message, StringComparison.Ordinal);
        var tooMany = await Assert.ThrowsAsync<ArgumentException>(() => batch.GetManyAsync(Enumerable.Range(0, GroupReads.BatchSize + 1).Select(_ => TaskIds.NewId()).ToArray()));
        Assert.Contains($"At most {GroupReads.BatchSize}", tooMany.Message, StringComparison.Ordinal);
        await cluster.StopAllSilosAsync(Ct);
    }
}
