using System.Globalization;
using System.Text;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// <c>date_done</c> as Celery's documents carry it. The form Celery and ResultGrid write
/// (<c>2026-11-24T10:16:23.442966</c>) is read digit by digit; every other form goes to the
/// framework's parser. Either way the instant is the framework's, and a date that is not one is
/// the record's named problem.
/// </summary>
public sealed class CeleryDateTests
{
    private static TaskResult Read(string dateDone) =>
        CeleryDocument.Decode("date-test", Encoding.UTF8.GetBytes($$"""{"status": "SUCCESS", "result": 1, "task_id": "date-test", "date_done": "{{dateDone}}"}"""));

    [Theory]
    [InlineData("2026-11-24T10:16:23.442966")]
    [InlineData("2024-02-29T23:59:59.999999")]
    [InlineData("0001-01-01T00:00:00.000000")]
    [InlineData("9999-12-31T23:59:59.999999")]
    [InlineData("1999-12-31T00:00:00.000001")]
    // Other ISO forms Celery may write: the framework's path.
    [InlineData("2026-11-24T10:16:23.442966+00:00")]
    [InlineData("2026-11-24T12:16:23.442966+02:00")]
    [InlineData("2026-11-24T10:16:23")]
    [InlineData("2026-11-24 10:16:23.442966")]
    public void A_date_reads_as_the_frameworks_parse_of_it(string text)
    {
        var record = Read(text);

        Assert.Null(record.Problem);
        var expected = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.Equal(expected, record.DateDone);
        Assert.Equal(TimeSpan.Zero, record.DateDone!.Value.Offset);
    }

    [Theory]
    [InlineData("2026-02-29T00:00:00.000000")]
    [InlineData("2026-13-01T00:00:00.000000")]
    [InlineData("2026-11-24T24:00:00.000000")]
    [InlineData("2026-11-24T10:60:00.000000")]
    [InlineData("2026-11-2xT10:16:23.442966")]
    [InlineData("0000-01-01T00:00:00.000000")]
    [InlineData("banana-not-a-date-at-all!!")]
    public void A_date_that_is_not_one_is_the_records_named_problem(string text)
    {
        var record = Read(text);

        Assert.Null(record.DateDone);
        Assert.Equal("date_done", record.Problem?.Field);
        Assert.Contains("is not a date", record.Problem?.Reason, StringComparison.Ordinal);
        // The rest of the document is read.
        Assert.Equal(TaskStates.Success, record.State);
    }
}
