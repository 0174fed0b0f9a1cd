using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ResultGrid.Grains;
using ResultGrid.Serialization;
using ResultGrid.Storage;
using ResultGrid.Storage.Memory;

namespace ResultGrid.Tests;

public sealed class OptionsTests
{
    private static ResultGridOptionsValidator Validator() =>
        new(new ResultStoreProviderRegistry([new MemoryResultStoreProvider()]));

    [Theory]
    [InlineData("memory://")]
    [InlineData("rpc://")]
    [InlineData("MEMORY://?partitions=4")]
    public void Valid_backend_urls_pass(string url) =>
        Assert.True(Validator().Validate(null, new ResultGridOptions { Backend = url }).Succeeded);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("localhost:6379", "no scheme")]
    [InlineData("foo://bar", "supported: memory://, rpc://")]
    [InlineData("memory://somehost", "take no host")]
    [InlineData("memory://?partitions=0", "from 1 to 1024")]
    [InlineData("rpc://?persistent=true", "unknown parameter 'persistent'")]
    public void Invalid_backend_urls_fail_naming_what_is_wrong(string url, string expected)
    {
        var result = Validator().Validate(null, new ResultGridOptions { Backend = url });
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ResultGrid:Backend", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_expiry_and_silly_size_limits_fail()
    {
        var result = Validator().Validate(null, new ResultGridOptions { ResultExpires = TimeSpan.FromSeconds(-1), MaxResultBytes = 10 });
        Assert.Contains("ResultExpires", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("MaxResultBytes", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_or_null_expiry_means_never()
    {
        Assert.Null(new ResultGridOptions { ResultExpires = TimeSpan.Zero }.DefaultTimeToLive);
        Assert.Null(new ResultGridOptions { ResultExpires = null }.DefaultTimeToLive);
        Assert.Equal(TimeSpan.FromDays(1), new ResultGridOptions().DefaultTimeToLive);
    }

    [Fact]
    public void A_password_in_a_backend_url_never_reaches_the_redacted_form()
    {
        var url = BackendUrl.Parse("redis://user:s3cret-pass@cache.internal:6380/0?ssl_cert_reqs=required");
        Assert.DoesNotContain("s3cret", url.Redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", url.ToString(), StringComparison.Ordinal);
        Assert.Equal("redis://user:***@cache.internal:6380/0?ssl_cert_reqs=required", url.Redacted);
        Assert.Equal("required", url.Query["SSL_CERT_REQS"]);
        Assert.Equal("db+postgresql", BackendUrl.Parse("db+postgresql://h/db").Scheme);

        Assert.Equal("redis://user:***@host:6379/0", BackendUrl.Parse("redis://user:p@ss@host:6379/0").Redacted);
        Assert.Equal("redis://:***@host", BackendUrl.Parse("redis://:only-pass@host").Redacted);
        Assert.Equal("db+postgresql://host/db?user=u&password=***&sslmode=verify-full",
            BackendUrl.Parse("db+postgresql://host/db?user=u&password=p4ss&sslmode=verify-full").Redacted);
        Assert.Equal("memory://", BackendUrl.Parse("memory://").Redacted);

        var bad = Assert.Throws<FormatException>(() => BackendUrl.Parse("hunter2@host"));
        Assert.DoesNotContain("hunter2", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrapped_url_keeps_every_part_but_the_scheme_and_the_parameters_taken_out()
    {
        var url = BackendUrl.Parse("celery+db+postgresql://u:p%40ss@db:5433/app?sslmode=require&RESULT_EXPIRES=60&task_table=t");
        var inner = url.WithScheme("db+postgresql", "result_expires");
        Assert.Equal("db+postgresql://u:p%40ss@db:5433/app?sslmode=require&task_table=t", inner.Original);
        Assert.False(inner.Query.ContainsKey("result_expires"));
        Assert.Equal("db+sqlite:///tmp/x.db", BackendUrl.Parse("celery+db+sqlite:///tmp/x.db?result_expires=0").WithScheme("db+sqlite", "result_expires").Original);
        Assert.Equal("redis://h/0", BackendUrl.Parse("x+redis://h/0").WithScheme("redis").Original);
    }

    [Fact]
    public void Serialization_options_name_unknown_codecs()
    {
        var ex = Assert.Throws<OptionsValidationException>(() =>
            new ResultSerializer(new ResultSerializationOptions { Serializer = "pickle", AcceptContent = ["json", "yaml"] }));
        Assert.Contains("'pickle' is not a known codec", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'yaml'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("json (application/json)", ex.Message, StringComparison.Ordinal);

        var empty = Assert.Throws<OptionsValidationException>(() => new ResultSerializer(new ResultSerializationOptions { AcceptContent = [] }));
        Assert.Contains("AcceptContent is empty", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_with_a_bad_backend_fails_start_up_with_the_reason()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePort.Get(), gatewayPort: FreePort.Get());
            silo.AddResultGrid(o => o.Backend = "mongodb://db/results");
        });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("mongodb://", ex.Message, StringComparison.Ordinal);
        Assert.Contains("supported: memory://, rpc://", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Task_options_are_checked_at_registration()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            services.AddResultGridTask<int, int>("t", (x, _) => Task.FromResult(x), o => o.RetryMaxDelay = TimeSpan.FromDays(3)));
        Assert.Contains("Task 't'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            services.AddResultGridTask<int, int>("t", (x, _) => Task.FromResult(x), o => o.Expires = TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            services.AddResultGridTask<int, int>("t", (x, _) => Task.FromResult(x), o => o.MaxRetries = -1));
    }

    [Fact]
    public void Registering_one_task_name_twice_is_an_error()
    {
        var services = new ServiceCollection();
        services.AddResultGridTask<int, int>("dup", (x, _) => Task.FromResult(x));
        services.AddResultGridTask<int, int>("dup", (x, _) => Task.FromResult(x));
        using var provider = services.AddSingleton<Grains.Tasks.TaskRegistry>().BuildServiceProvider();
        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<Grains.Tasks.TaskRegistry>());
        Assert.Contains("'dup' is registered twice", ex.Message, StringComparison.Ordinal);
    }
}
