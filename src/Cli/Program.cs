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

var root = new RootCommand("resultgrid: operator tools for a ResultGrid result backend.") { check };
return await root.Parse(args).InvokeAsync();
