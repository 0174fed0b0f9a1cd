using ResultGrid.Hosting;

// The ResultGrid silo host: everything that turns configuration into a running silo (options and
// their checks, clustering, stores, exit codes 2 and 1) lives in ResultGrid.Hosting, shared with
// the CLI's doctor; a host of your own calls builder.AddResultGridSilo() instead.
return await ResultGridSiloHost.RunAsync(args);
