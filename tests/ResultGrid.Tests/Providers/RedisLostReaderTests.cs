using System.IO.Pipelines;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// A command whose connection's reader stopped under it (StackExchange.Redis#3085) is retried as
/// a lost connection is: the store tells it by the exception System.IO.Pipelines itself throws.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisLostReaderTests
{
    [Fact]
    public void The_pipelines_error_of_a_completed_reader_is_a_lost_reader_and_other_invalid_operations_are_not()
    {
        var pipe = new Pipe();
        pipe.Reader.Complete();
        var lost = Assert.Throws<InvalidOperationException>(() => pipe.Reader.AdvanceTo(default(SequencePosition)));

        Assert.True(RedisResultStore.IsLostReader(lost), $"'{lost.Message}' from {lost.Source} was not taken for a lost reader");
        Assert.False(RedisResultStore.IsLostReader(new InvalidOperationException(lost.Message)));
        Assert.False(RedisResultStore.IsLostReader(new FormatException("System.IO.Pipelines")));
    }
}
