namespace ResultGrid.Tests;

/// <summary>db+postgresql:// on a PostgreSQL server of its own.</summary>
public sealed class PostgresCluster : SqlServerCluster<PostgresProcess>;
