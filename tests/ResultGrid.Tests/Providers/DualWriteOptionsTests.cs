using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Grains;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>ResultGrid:SecondaryBackend is validated like ResultGrid:Backend, and refused where dual-write makes no sense.</summary>
[Trait("Backend", "dualwrite")]
public sealed class DualWriteOptionsTests
{
    private static (ServiceProvider Services, ResultGridOptionsValidator Validator) Validator()
    {
        var services = new ServiceCollection().AddLogging().AddMemoryResultStore().AddRedisResultStore().AddSqlResultStore();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddSingleton<ResultStoreProviderRegistry>();
        var provider = services.BuildServiceProvider();
        return (provider, new ResultGridOptionsValidator(provider.GetRequiredService<ResultStoreProviderRegistry>()));
    }

    private static string? Failure(string backend, string? secondary)
    {
        var (services, validator) = Validator();
        using (services)
        {
            var result = validator.Validate(null, new ResultGridOptions { Backend = backend, SecondaryBackend = secondary });
            return result.Failed ? result.FailureMessage : null;
        }
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6379/0", "db+postgresql://rg@127.0.0.1/resultgrid")]
    [InlineData("db+mysql://rg@db/results", "redis://cache:6379/1")]
    [InlineData("redis://a:6379/0", "redis://a:6379/1")]
    [InlineData("db+sqlite:///data/resultgrid.db", null)]
    [InlineData("db+sqlite:///data/resultgrid.db", "  ")]
    public void Two_different_durable_backends_or_none_pass(string backend, string? secondary) => Assert.Null(Failure(backend, secondary));

    [Theory]
    [InlineData("memory://", "redis://h:6379/0", "ResultGrid:Backend is memory://")]
    [InlineData("redis://h:6379/0", "rpc://", "ResultGrid:SecondaryBackend is rpc://")]
    [InlineData("redis://h:6379/0", "memory://?partitions=4", "memory:// results live in the cluster itself")]
    [InlineData("rpc://", "db+sqlite:///r.db", "rpc:// results are handed out once")]
    public void Memory_and_rpc_are_refused_with_the_reason(string backend, string secondary, string expected)
    {
        var failure = Failure(backend, secondary);
        Assert.NotNull(failure);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        Assert.Contains("nothing to migrate", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_backend_twice_is_refused_without_showing_its_password()
    {
        var failure = Failure("redis://:pw-one@h:6379/0", "REDIS://:pw-two@h:6379/0");
        Assert.NotNull(failure);
        Assert.Contains("ResultGrid:SecondaryBackend is the same backend as ResultGrid:Backend (redis://:***@h:6379/0)", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:6379", "has no scheme")]
    [InlineData("mongodb://db/results", "supported: ")]
    [InlineData("redis://h:6379/0?bogus=1", "unknown parameter 'bogus'")]
    public void An_unusable_secondary_url_is_refused_like_a_backend_url(string secondary, string expected)
    {
        var failure = Failure("db+sqlite:///data/resultgrid.db", secondary);
        Assert.NotNull(failure);
        Assert.Contains("ResultGrid:SecondaryBackend: ", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }
}
