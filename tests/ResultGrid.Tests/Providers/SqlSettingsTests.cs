using MySqlConnector;
using Npgsql;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>db+ URLs as Celery (SQLAlchemy) writes them, the options they merge with, and every refusal's message.</summary>
[Trait("Backend", "postgresql")]
[Trait("Backend", "mariadb")]
[Trait("Backend", "sqlite")]
public sealed class SqlSettingsTests
{
    private static SqlStoreSettings Parse(string url, SqlResultStoreOptions? options = null) =>
        SqlStoreSettings.Create(BackendUrl.Parse(url), options ?? new SqlResultStoreOptions());

    [Theory]
    [InlineData("db+postgresql://scott:tiger@db.example.com:6543/results", "db.example.com", 6543, "results", "scott", "tiger")]
    [InlineData("db+postgresql+psycopg2://scott:t%40g%3Aer@db/results", "db", null, "results", "scott", "t@g:er")]
    [InlineData("db+postgres://scott:p@ss@[::1]:5432/r", "::1", 5432, "r", "scott", "p@ss")]
    [InlineData("db+mysql+pymysql://root@127.0.0.1/celery", "127.0.0.1", null, "celery", "root", null)]
    [InlineData("db+mariadb://u:pw@maria:3307/celery?charset=utf8mb4", "maria", 3307, "celery", "u", "pw")]
    public void Server_urls_parse_like_SQLAlchemy(string url, string host, int? port, string database, string user, string? password)
    {
        var settings = Parse(url);
        Assert.Null(SqlStoreSettings.Validate(BackendUrl.Parse(url), new SqlResultStoreOptions()));
        Assert.Equal(host, settings.Host);
        Assert.Equal(port, settings.Port);
        Assert.Equal(database, settings.Database);
        Assert.Equal(user, settings.User);
        Assert.Equal(password, settings.Password);
    }

    [Fact]
    public void Sqlite_paths_are_relative_with_three_slashes_and_absolute_with_four()
    {
        Assert.Equal(Path.GetFullPath("data/results.db"), Parse("db+sqlite:///data/results.db").FilePath);
        Assert.Equal("/var/lib/rg/results.db", Parse("db+sqlite:////var/lib/rg/results.db").FilePath);
    }

    [Fact]
    public void Credentials_come_from_the_options_when_the_url_has_none()
    {
        var settings = Parse("db+postgresql://db/results", new SqlResultStoreOptions { User = "svc", Password = "from-env" });
        Assert.Equal("svc", settings.User);
        Assert.Equal("from-env", settings.Password);
        Assert.DoesNotContain("from-env", settings.Display, StringComparison.Ordinal);
        Assert.Equal("postgresql database 'results' on db", settings.Display);
    }

    [Fact]
    public void Url_parameters_win_over_options_and_reach_the_drivers()
    {
        var pg = Parse("db+postgresql://u:p@db:5432/r?max_pool_size=50&min_pool_size=2&pool_recycle=600&connect_timeout=3&command_timeout=9&sslmode=verify-full",
            new SqlResultStoreOptions { MaxPoolSize = 5 });
        Assert.Equal(50, pg.Options.MaxPoolSize);
        using (var source = (NpgsqlDataSource)SqlDialect.For(pg).CreateDataSource(pg))
        {
            var built = new NpgsqlConnectionStringBuilder(source.ConnectionString);
            Assert.Equal(50, built.MaxPoolSize);
            Assert.Equal(2, built.MinPoolSize);
            Assert.Equal(600, built.ConnectionLifetime);
            Assert.Equal(3, built.Timeout);
            Assert.Equal(9, built.CommandTimeout);
            Assert.Equal(SslMode.VerifyFull, built.SslMode);
        }

        var my = Parse("db+mysql://u:p@db/r?ssl_mode=verify_identity&max_pool_size=7&pool_pre_ping=true&isolation_level=repeatable_read");
        Assert.Equal("REPEATABLE READ", my.Options.MySqlIsolationLevel);
        using var mySource = (MySqlDataSource)SqlDialect.For(my).CreateDataSource(my);
        var myBuilt = new MySqlConnectionStringBuilder(mySource.ConnectionString);
        Assert.Equal(MySqlSslMode.VerifyFull, myBuilt.SslMode);
        Assert.Equal(7u, myBuilt.MaximumPoolSize);
        Assert.True(myBuilt.ConnectionReset);
    }

    [Fact]
    public void MySQL_statements_run_at_READ_COMMITTED_unless_told_otherwise()
    {
        var sql = SqlDialect.For(Parse("db+mysql://u@db/r")).UpsertTasks(new SqlTables("t", "g", "v", "c", "t", "g"), 1);
        Assert.StartsWith("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;", sql, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("db+postgresql://db", "needs one database name")]
    [InlineData("db+postgresql://u@:5432/r", "needs a host")]
    [InlineData("db+postgresql://db:99999/r", "port '99999'")]
    [InlineData("db+postgresql://db/r?sslmode=sometimes", "allowed: disable, allow, prefer, require, verify-ca, verify-full")]
    [InlineData("db+mysql://db/r?ssl_mode=verify-full", "allowed: disabled, preferred, required, verify_ca, verify_identity")]
    [InlineData("db+mysql://db/r?charset=latin1", "only charset=utf8mb4")]
    [InlineData("db+mysql://db/r?isolation_level=chaos", "allowed: READ UNCOMMITTED")]
    [InlineData("db+postgresql://db/r?pool=3", "unknown parameter 'pool'")]
    [InlineData("db+postgresql://db/r?max_pool_size=0", "max must be from 1 to 1000")]
    [InlineData("db+postgresql://db/r?batch_size=5000", "batch_size is 5000")]
    [InlineData("db+postgresql://db/r?command_timeout=abc", "not a number of seconds")]
    [InlineData("db+postgresql://db/r?task_table=results;drop", "not a usable table name")]
    [InlineData("db+postgresql://db/r?task_table=a&group_table=A", "must differ")]
    [InlineData("db+postgresql://db/r?sslrootcert=/no/such/ca.pem", "does not exist")]
    [InlineData("db+sqlite://results.db", "third slash")]
    [InlineData("db+sqlite:///:memory:", "Use memory://")]
    [InlineData("db+sqlite:///data/", "names a directory")]
    [InlineData("db+sqlite:///x.db?sslmode=require", "unknown parameter 'sslmode'")]
    public void Bad_urls_are_refused_naming_what_is_wrong_and_what_is_allowed(string url, string expected)
    {
        var problem = SqlStoreSettings.Validate(BackendUrl.Parse(url), new SqlResultStoreOptions());
        Assert.NotNull(problem);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_never_appears_in_a_refusal()
    {
        var problem = SqlStoreSettings.Validate(BackendUrl.Parse("db+postgresql://u:hunter2@db/r?pool=1"), new SqlResultStoreOptions());
        Assert.NotNull(problem);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
        Assert.Contains("db+postgresql://u:***@db/r", problem, StringComparison.Ordinal);
    }
}
