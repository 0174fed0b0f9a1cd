using System.CommandLine;
using ResultGrid.Cli;

var url = new Argument<string>("backend-url") { Description = "The backend to check, e.g. redis://host:6379/0 or db+postgresql://user@host/db. Passwords belong in the environment (RESULTGRID__REDIS__PASSWORD, RESULTGRID__SQL__PASSWORD)." };
var json = new Option<bool>("--json") { Description = "One JSON object instead of a table, for scripts." };
var check = new Command("check", "Connects to a backend and exercises it for real: write, read back, never-overwrite-SUCCESS, expiry, forget, waiter wake-up, latency, and the server facts that decide whether results survive.")
{
    url,
    json,
};
check.SetAction((result, cancellationToken) => BackendCheck.RunAsync(result.GetValue(url)!, result.GetValue(json), cancellationToken));

var taskId = new Argument<string>("task-id") { Description = "The task's id." };
var inspectUrl = new Argument<string>("backend-url") { Description = url.Description };
var inspectJson = new Option<bool>("--json") { Description = json.Description };
var inspect = new Command("inspect", "Shows one stored result, every field, straight from the backend.") { inspectUrl, taskId, inspectJson };
inspect.SetAction((result, ct) => ResultCommands.InspectAsync(result.GetValue(inspectUrl)!, result.GetValue(taskId)!, result.GetValue(inspectJson), ct));

var forgetUrl = new Argument<string>("backend-url") { Description = url.Description };
var forgetId = new Argument<string>("task-id") { Description = "The task's id." };
var forget = new Command("forget", "Deletes one stored result (Celery's forget).") { forgetUrl, forgetId };
forget.SetAction((result, ct) => ResultCommands.ForgetAsync(result.GetValue(forgetUrl)!, result.GetValue(forgetId)!, ct));

var queryUrl = new Argument<string>("backend-url") { Description = "A SQL backend: db+postgresql://, db+mysql:// or db+sqlite://." };
var states = new Option<string[]>("--state") { Description = "Only these states (repeat the option for several).", AllowMultipleArgumentsPerToken = true };
var name = new Option<string?>("--name") { Description = "Only this task name." };
var group = new Option<string?>("--group") { Description = "Only the children of this group." };
var from = new Option<DateTimeOffset?>("--from") { Description = "Only results done at or after this time (ISO 8601)." };
var before = new Option<DateTimeOffset?>("--before") { Description = "Only results done before this time (ISO 8601)." };
var limit = new Option<int>("--limit") { Description = "The most results shown (default 50).", DefaultValueFactory = _ => 50 };
var queryJson = new Option<bool>("--json") { Description = json.Description };
var query = new Command("query", "Searches stored results by state, name, group and date done, newest first (SQL backends).") { queryUrl, states, name, group, from, before, limit, queryJson };
query.SetAction((result, ct) => ResultCommands.QueryAsync(
    result.GetValue(queryUrl)!,
    new ResultGrid.ResultQuery { States = result.GetValue(states), Name = result.GetValue(name), GroupId = result.GetValue(group), DoneFrom = result.GetValue(from), DoneBefore = result.GetValue(before) },
    Math.Max(1, result.GetValue(limit)),
    result.GetValue(queryJson),
    ct));

var sweepUrl = new Argument<string>("backend-url") { Description = url.Description };
var batchSize = new Option<int>("--batch-size") { Description = "Rows per DELETE statement (default 1000).", DefaultValueFactory = _ => 1000 };
var sweepJson = new Option<bool>("--json") { Description = json.Description };
var sweep = new Command("sweep", "Deletes expired results now, in bounded batches (SQL backends; Redis and memory expire by themselves).") { sweepUrl, batchSize, sweepJson };
sweep.SetAction((result, ct) => ResultCommands.SweepAsync(result.GetValue(sweepUrl)!, Math.Clamp(result.GetValue(batchSize), 1, 100_000), result.GetValue(sweepJson), ct));

var migrateFrom = new Option<string>("--from") { Description = "The backend to copy from (redis://, rediss://, db+…); a Celery Redis backend's keys are read as they are.", Required = true };
var migrateTo = new Option<string>("--to") { Description = "The backend to copy into; it gains only what it lacks, so it may already be in use (dual-write).", Required = true };
var migrateBatch = new Option<int>("--batch-size") { Description = "Records per page (default 1000).", DefaultValueFactory = _ => 1000 };
var migrateParallel = new Option<int>("--parallel") { Description = "Pages imported at once (default 4).", DefaultValueFactory = _ => 4 };
var migrateState = new Option<string?>("--state") { Description = "The state file that makes the copy resumable (default resultgrid-migrate-<hash of the two URLs>.json in the current directory)." };
var verifyOnly = new Option<bool>("--verify-only") { Description = "Only compare the two backends, record by record." };
var noVerify = new Option<bool>("--no-verify") { Description = "Copy without the verify pass." };
var migrateJson = new Option<bool>("--json") { Description = json.Description };
var migrate = new Command("migrate", "Copies every unexpired result and group, with its remaining TTL, from one backend to another, resumably, then verifies the copy checksum for checksum.")
{
    migrateFrom, migrateTo, migrateBatch, migrateParallel, migrateState, verifyOnly, noVerify, migrateJson,
};
migrate.SetAction((result, ct) => MigrateCommand.RunAsync(
    new MigrateCommand.Arguments(
        result.GetValue(migrateFrom)!,
        result.GetValue(migrateTo)!,
        Math.Clamp(result.GetValue(migrateBatch), 1, 10_000),
        Math.Clamp(result.GetValue(migrateParallel), 1, 16),
        result.GetValue(migrateState),
        result.GetValue(verifyOnly),
        result.GetValue(noVerify),
        result.GetValue(migrateJson)),
    ct));

var root = new RootCommand("resultgrid: operator tools for a ResultGrid result backend.") { check, inspect, forget, query, sweep, migrate };
var doctor = Doctor.Create();
root.Subcommands.Add(doctor);
root.Options.Add(CliErrors.Verbose);

// Exit codes, for every command: 0 ok, 1 a check failed / a problem was found / a backend refused,
// 2 arguments or configuration that cannot be used. The parser's own errors would exit 1 and
// print the whole help; they are arguments that cannot be used, so 2 and one line.
var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
{
    return await CliErrors.ParseErrorsAsync(parse);
}

// doctor reads (and reports on) the configuration itself; help needs none.
if (parse.CommandResult.Command != doctor && parse.CommandResult.Command != root && parse.Action is not { ClearsParseErrors: true }
    && await CliErrors.EnvironmentProblemsAsync(parse) is { } unusable)
{
    return unusable;
}

try
{
    // The parser's handler prints "Unhandled exception" and the stack trace; ours, one line.
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex)
{
    return await CliErrors.UnexpectedAsync(parse, ex);
}
