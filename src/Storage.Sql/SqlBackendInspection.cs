namespace ResultGrid.Storage.Sql;

/// <summary>Which database a <c>db+</c> backend URL names.</summary>
internal enum SqlDatabaseKind
{
    /// <summary>PostgreSQL: <c>db+postgresql://</c>, <c>db+postgres://</c> and SQLAlchemy's driver variants of them.</summary>
    PostgreSql,

    /// <summary>MySQL or MariaDB: <c>db+mysql://</c>, <c>db+mariadb://</c> and SQLAlchemy's driver variants of them.</summary>
    MySql,

    /// <summary>SQLite, an embedded database in one file: <c>db+sqlite:///path</c>.</summary>
    Sqlite,
}
