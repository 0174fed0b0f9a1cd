using ResultGrid.Storage;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Tests;

[Trait("Backend", "redis")]
public sealed class RedisSettingsTests
{
    [Theory]
    [InlineData("redis://localhost:6379/0", null)]
    [InlineData("rediss://:secret@cache.example:6380/2?global_keyprefix=app1:", null)]
    [InlineData("redis://", "has no host")]
    [InlineData("redis://localhost/abc", "database 'abc'")]
    [InlineData("redis://localhost/0?ssl=maybe", "unknown parameter 'ssl'")]
    [InlineData("redis://localhost/0?max_connections=0", "from 1 to 64")]
    [InlineData("redis://localhost/0?socket_timeout=abc", "not a number of seconds")]
    [InlineData("redis://localhost/0?socket_keepalive=perhaps", "not true or false")]
    [InlineData("rediss://localhost/0?ssl_cert_reqs=sometimes", "allowed: required, optional, none")]
    [InlineData("rediss://localhost/0?ssl_ca_certs=/no/such/ca.pem", "does not exist")]
    [InlineData("unix:///var/run/redis.sock?db=2", null)]
    [InlineData("redis+socket:///var/run/redis.sock", null)]
    [InlineData("unix://", "no socket path")]
    [InlineData("sentinel://h1:26379;h2:26380/1?master_name=m", null)]
    [InlineData("sentinel://h1:26379;sentinel://h2:26380/1?master_name=m", null)]
    [InlineData("sentinel://h1:26379/0", "names no master")]
    [InlineData("redis://localhost:99999/0", "a port is a number from 1 to 65535")]
    [InlineData("redis://localhost/0?socket_timeout=2.5&socket_connect_timeout=1&socket_keepalive=false&health_check_interval=10&retry_on_timeout=true&max_connections=4", null)]
    public void Urls_are_checked_with_what_is_allowed(string url, string? problem)
    {
        var result = RedisStoreSettings.Validate(BackendUrl.Parse(url), new RedisResultStoreOptions());
        if (problem is null)
        {
            Assert.Null(result);
        }
        else
        {
            Assert.Contains(problem, result, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sentinel_urls_list_every_sentinel_and_the_master_name()
    {
        var settings = RedisStoreSettings.Create(BackendUrl.Parse("sentinel://:pw@10.0.0.1:26379;sentinel://10.0.0.2/3?master_name=results"), new RedisResultStoreOptions());
        Assert.Equal("results", settings.Configuration.ServiceName);
        Assert.Equal(2, settings.Configuration.EndPoints.Count);
        Assert.Equal(3, settings.Database);
        Assert.Equal("pw", settings.Configuration.Password);
        Assert.Contains("10.0.0.2:26379", settings.Endpoints, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_tls_database_and_prefix_come_from_the_url_and_the_password_never_shows()
    {
        var settings = RedisStoreSettings.Create(BackendUrl.Parse("rediss://:s3cret@cache.example:6380/2?global_keyprefix=app1:"), new RedisResultStoreOptions());
        Assert.Equal("s3cret", settings.Configuration.Password);
        Assert.True(settings.Configuration.Ssl);
        Assert.Equal(2, settings.Database);
        Assert.Equal("app1:", settings.KeyPrefix);
        Assert.Equal("cache.example:6380", settings.Endpoints);
        Assert.DoesNotContain("s3cret", settings.RedactedUrl, StringComparison.Ordinal);

        var knobs = RedisStoreSettings.Create(BackendUrl.Parse("redis://h/0?socket_timeout=2.5&socket_connect_timeout=1&socket_keepalive=false&health_check_interval=10&retry_on_timeout=true&max_connections=4"), new RedisResultStoreOptions());
        Assert.Equal(2500, knobs.Configuration.SyncTimeout);
        Assert.Equal(2500, knobs.Configuration.AsyncTimeout);
        Assert.Equal(1000, knobs.Configuration.ConnectTimeout);
        Assert.False(knobs.Configuration.TcpKeepAlive);
        Assert.Equal(10, knobs.Configuration.KeepAlive);
        Assert.True(knobs.RetryOnTimeout);
        Assert.Equal(4, knobs.Connections);

        var fromOptions = RedisStoreSettings.Create(BackendUrl.Parse("redis://h"), new RedisResultStoreOptions { Password = "env-pass", KeyPrefix = "p:" });
        Assert.Equal("env-pass", fromOptions.Configuration.Password);
        Assert.Equal("p:", fromOptions.KeyPrefix);
        Assert.Equal(0, fromOptions.Database);
    }
}
