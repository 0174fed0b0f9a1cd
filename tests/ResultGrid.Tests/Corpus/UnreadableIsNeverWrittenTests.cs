namespace ResultGrid.Tests;

/// <summary>What can never be written: a damaged record's state, on the write path every backend shares.</summary>
[Trait("Backend", "memory")]
public sealed class UnreadableIsNeverWrittenTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, bool> Writes => new()
    {
        { TaskStates.Unreadable, false },
        { TaskStates.Success, true },
    };

    /// <summary>UNREADABLE is what a damaged record reads as; a writer that sends it (or a record carrying a Problem) is refused.</summary>
    [Theory, MemberData(nameof(Writes))]
    public async Task The_writer_grain_refuses_a_damaged_records_state_or_problem(string state, bool withProblem)
    {
        var record = new TaskResult
        {
            TaskId = TaskIds.NewId(),
            State = state,
            Problem = withProblem ? new RecordProblem { Field = "date_done", Reason = "not a date" } : null,
        };
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.Grains.GetGrain<IResultWriterGrain>(0).WriteAsync(record, null));
        Assert.Contains("UNREADABLE", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Pending, await cluster.External.GetStateAsync(record.TaskId, Ct));
    }

    [Fact]
    public async Task UpdateState_refuses_UNREADABLE_as_a_built_in_state()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => cluster.External.UpdateStateAsync(TaskIds.NewId(), TaskStates.Unreadable, new { step = 1 }, cancellationToken: Ct));
        Assert.Contains("'UNREADABLE'", ex.Message, StringComparison.Ordinal);
    }
}
