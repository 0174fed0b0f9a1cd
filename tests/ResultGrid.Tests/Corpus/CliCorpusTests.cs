namespace ResultGrid.Tests;

/// <summary>
/// `resultgrid`, the real program, with bad input for every command: arguments the parser
/// refuses, URLs that cannot be used, options in the environment that do not parse, an
/// unreachable server, a Redis database the server does not have, a wrong password, a malformed
/// appsettings.json for doctor. Each ends in one line on stderr naming what was wrong and the
/// documented exit code (2: unusable arguments or configuration; 1: a backend refused or failed),
/// never in an unhandled exception or a stack trace.
/// </summary>
public sealed class CliCorpusTests(RedisCluster redis, PostgresCluster postgres)
{
    private const string NotJson = "{\n  \"ResultGrid\": {\n    \"Backend\": \"memory://\",\n  }}\n}\n";

    // Arguments, "KEY=VALUE" environment, an appsettings.json for {dir} (or null) → exit code, fragments of stderr.
    public static TheoryData<string, string[], string[], string?, int, string[]> Rows => new()
    {
        // Arguments the parser refuses (exit code 2, one line, no help text dump).
        { "no command", [], [], null, 2, ["resultgrid: Required command was not provided"] },
        { "unknown command", ["inspekt"], [], null, 2, ["'inspekt'"] },
        { "check without a URL", ["check"], [], null, 2, ["resultgrid check: Required argument 'backend-url' missing"] },
        { "inspect without a task id", ["inspect", "{redis}/0"], [], null, 2, ["resultgrid inspect: Required argument 'task-id' missing"] },
        { "forget without arguments", ["forget"], [], null, 2, ["resultgrid forget:", "'backend-url'", "'task-id'"] },
        { "query limit not a number", ["query", "db+sqlite:///{dir}/q.db", "--limit", "fifty"], [], null, 2, ["resultgrid query:", "'fifty'", "--limit"] },
        { "query date not a date", ["query", "db+sqlite:///{dir}/q.db", "--from", "yesterday"], [], null, 2, ["resultgrid query:", "'yesterday'", "--from"] },
        { "sweep batch size not a number", ["sweep", "db+sqlite:///{dir}/s.db", "--batch-size", "lots"], [], null, 2, ["resultgrid sweep:", "'lots'", "--batch-size"] },
        { "migrate without --to", ["migrate", "--from", "{redis}/0"], [], null, 2, ["resultgrid migrate:", "--to"] },
        { "migrate parallel not a number", ["migrate", "--from", "{redis}/0", "--to", "db+sqlite:///{dir}/m.db", "--parallel", "many"], [], null, 2, ["resultgrid migrate:", "'many'", "--parallel"] },
        { "doctor option not an option", ["doctor", "--ofline"], [], null, 2, ["resultgrid doctor:", "--ofline"] },

        // URLs that cannot be used (exit code 2).
        { "check URL without a scheme", ["check", "localhost:6379"], [], null, 2, ["resultgrid check:", "localhost:6379"] },
        { "check unknown scheme", ["check", "mongodb://127.0.0.1/x"], [], null, 2, ["resultgrid check:", "mongodb"] },
        { "check memory", ["check", "memory://"], [], null, 2, ["resultgrid check:", "memory://", "no server to reach"] },
        { "check redis parameter not a number", ["check", "{redis}/0?socket_timeout=fast"], [], null, 2, ["resultgrid check:", "socket_timeout"] },
        { "inspect task id with white space around it", ["inspect", "{redis}/0", " padded "], [], null, 2, ["resultgrid inspect: Invalid task id", "leading or trailing white space"] },
        { "query on redis", ["query", "{redis}/0"], [], null, 2, ["resultgrid query:", "needs a SQL backend"] },
        { "migrate the same backend twice", ["migrate", "--from", "db+sqlite:///{dir}/m.db", "--to", "db+sqlite:///{dir}/m.db"], [], null, 2, ["resultgrid migrate:", "the same backend"] },

        // Options in the environment that do not parse (exit code 2, named with their variable).
        { "redis option not a number", ["check", "{redis}/0"], ["RESULTGRID__REDIS__MAXCONNECTIONS=abc"], null, 2, ["resultgrid check: ResultGrid:Redis:MaxConnections: 'abc' is not a whole number", "RESULTGRID__REDIS__MAXCONNECTIONS"] },
        { "sql option not a time span", ["query", "db+sqlite:///{dir}/q.db"], ["RESULTGRID__SQL__COMMANDTIMEOUT=soon"], null, 2, ["resultgrid query: ResultGrid:Sql:CommandTimeout: 'soon' is not a time span"] },
        { "redis retry option not a number", ["inspect", "{redis}/0", "abc"], ["RESULTGRID__REDIS__RETRY__MAXRETRIES=x"], null, 2, ["ResultGrid:Redis:Retry:MaxRetries: 'x'"] },

        // Servers that cannot be reached or refuse (exit code 1).
        { "check unreachable redis", ["check", "redis://127.0.0.1:{free}/0", "--json"], [], null, 1, [] },
        { "inspect unreachable redis", ["inspect", "redis://127.0.0.1:{free}/0", "abc"], [], null, 1, ["resultgrid inspect:", "Could not connect to Redis at 127.0.0.1:{free}", "Check that a Redis server runs"] },
        { "inspect redis database the server lacks", ["inspect", "{redis}/99", "abc"], [], null, 1, ["resultgrid inspect:", "refused database 99", "16 by default"] },
        { "forget redis database the server lacks", ["forget", "{redis}/77", "abc"], [], null, 1, ["resultgrid forget:", "refused database 77"] },
        { "migrate from a redis database the server lacks", ["migrate", "--from", "{redis}/99", "--to", "db+sqlite:///{dir}/m.db"], [], null, 1, ["resultgrid migrate:", "refused database 99"] },
        { "query wrong postgres password", ["query", "{pg-wrong}"], [], null, 1, ["resultgrid query:", "password authentication failed"] },
        { "sweep unreachable postgres", ["sweep", "db+postgresql://rg@127.0.0.1:{free}/resultgrid"], ["RESULTGRID__SQL__CONNECTTIMEOUT=00:00:02"], null, 1, ["resultgrid sweep:", "127.0.0.1:{free}"] },

        // doctor's configuration (exit code 2 when the silo would refuse it).
        { "doctor with no such directory", ["doctor", "--config-dir", "{dir}/missing"], [], null, 2, ["resultgrid doctor:", "does not exist"] },
        { "doctor with appsettings.json not JSON", ["doctor", "--config-dir", "{dir}"], [], NotJson, 2, ["resultgrid doctor: {dir}/appsettings.json is not valid JSON", "(line 5, column 1)"] },
        { "doctor with a value that does not parse", ["doctor", "--config-dir", "{dir}"], [], """{"ResultGrid":{"Backend":"memory://","ResultExpires":"banana"}}""", 2, ["ResultGrid:ResultExpires: 'banana' is not a time span"] },
        { "doctor with a redis option that does not parse", ["doctor", "--config-dir", "{dir}"], ["RESULTGRID__REDIS__SOCKETTIMEOUT=fast"], """{"ResultGrid":{"Backend":"{redis}/0"}}""", 2, ["ResultGrid:Redis:SocketTimeout: 'fast' is not a time span"] },
        { "doctor with a redis database the server lacks", ["doctor", "--config-dir", "{dir}", "--json"], [], """{"ResultGrid":{"Backend":"{redis}/99"}}""", 1, [] },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Bad_input_is_one_line_with_the_documented_exit_code(string row, string[] arguments, string[] environment, string? settings, int exit, string[] fragments)
    {
        var places = await CorpusPlaces.CreateAsync(redis, postgres);
        if (settings is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(places.Directory, "appsettings.json"), places.Expand(settings), TestContext.Current.CancellationToken);
        }

        var (code, output, error) = await RunAsync(places, [.. arguments.Select(places.Expand)], CorpusAssert.Environment(places, environment));

        CorpusAssert.Holds(row, exit, [.. fragments.Select(places.Expand)], code, output, error);
        if (fragments.Length > 0)
        {
            Assert.True(error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 1, $"{row}: not one line on stderr:\n{error}");
        }

        if (row == "doctor with a redis database the server lacks")
        {
            Assert.Contains("refused database 99", output, StringComparison.Ordinal);
            Assert.Contains("backend-unreachable", output, StringComparison.Ordinal);
        }
        else if (row == "check unreachable redis")
        {
            Assert.Contains("Check that a Redis server runs", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unexpected_failure_is_one_line_and_verbose_adds_the_stack_trace()
    {
        // A Redis user that may read but not delete: forget's DEL is refused after a connection
        // that worked, which no command checks for, so only the last-resort handler is left.
        var places = await CorpusPlaces.CreateAsync(redis, postgres);
        var user = $"corpus-{Guid.NewGuid():N}";
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{places.Redis["redis://".Length..]},allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ExecuteAsync("ACL", "SETUSER", user, "on", ">corpus-pw", "~*", "&*", "+@all", "-del", "-unlink");
        try
        {
            string[] arguments = ["forget", $"redis://{user}:corpus-pw@{places.Redis["redis://".Length..]}/0", "abc"];
            var (code, output, error) = await RunAsync(places, arguments, []);
            CorpusAssert.Holds("unexpected", 1, ["resultgrid forget:", "NOPERM", "--verbose"], code, output, error);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("corpus-pw", output + error, StringComparison.Ordinal);

            (code, _, error) = await RunAsync(places, [.. arguments, "--verbose"], []);
            Assert.Equal(1, code);
            Assert.Contains("   at ", error, StringComparison.Ordinal);

            (code, _, error) = await RunAsync(places, arguments, new Dictionary<string, string> { ["RESULTGRID_VERBOSE"] = "1" });
            Assert.Equal(1, code);
            Assert.Contains("   at ", error, StringComparison.Ordinal);
        }
        finally
        {
            await server.ExecuteAsync("ACL", "DELUSER", user);
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(CorpusPlaces places, string[] arguments, Dictionary<string, string> environment)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), environment, places.Directory, arguments);
        var exit = await cli.Exit(TimeSpan.FromSeconds(90));
        return (exit, cli.Output, cli.Error);
    }
}
