namespace ResultGrid.Tests;

/// <summary>How the fault suite's cluster keeps its membership and its results.</summary>
public enum FaultFlavour
{
    /// <summary>Membership, reminders and results in one Redis (Celery's key layout).</summary>
    Redis,

    /// <summary>Membership, reminders and results in one PostgreSQL (Orleans' ADO.NET tables and resultgrid_tasks).</summary>
    PostgreSql,
}
