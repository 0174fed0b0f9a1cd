namespace ResultGrid.Tests;

/// <summary>db+mysql:// on a MariaDB server of its own.</summary>
public sealed class MariaDbCluster : SqlServerCluster<MariaDbProcess>;
