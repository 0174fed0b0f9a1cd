using System.Runtime.CompilerServices;

namespace ResultGrid.Tests;

/// <summary>
/// The environment every silo process a test starts inherits. The silo host serves HTTP on
/// 127.0.0.1:5080 by default; several silos at once (the fault and clustering suites run three)
/// would fight over that port, so each takes a free one unless a test sets its own.
/// </summary>
internal static class ChildProcessEnvironment
{
    public const string HttpUrlsVariable = "RESULTGRID__HTTP__URLS";

    [ModuleInitializer]
    internal static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(HttpUrlsVariable) is null)
        {
            Environment.SetEnvironmentVariable(HttpUrlsVariable, "http://127.0.0.1:0");
        }
    }
}
