-- =============================================================================
-- ResultGrid: Orleans ADO.NET clustering + reminders schema for MySQL 8 / MariaDB 10.11
-- =============================================================================
--
-- ResultGrid's own setup script, written for compatibility with
-- Microsoft.Orleans.Clustering.AdoNet 10.4.2 and Microsoft.Orleans.Reminders.AdoNet
-- 10.4.2 (ADO.NET invariant "MySql.Data.MySqlConnector" for the MySqlConnector
-- driver, or "MySql.Data.MySqlClient" for Oracle's MySql.Data driver).
-- The providers run
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- at start-up and from then on execute only the SQL stored there, binding
-- parameters by name (@DeploymentId, @Address, ...) and reading result columns
-- by name. Parameter names, result-column names and result shapes below
-- follow what the 10.4.2 providers bind and read; the SQL itself is ours.
--
-- STATEMENT SEPARATOR
--   Statements are separated by a line whose only content (ignoring leading
--   and trailing whitespace) is the comment
--       -- GO
--   To apply the script over ADO.NET: split the text on such lines, trim each
--   piece, skip pieces that are empty or contain only comments, and execute
--   each remaining piece as one command, in file order. Each piece is exactly
--   one SQL statement and ends with ';'. No DELIMITER command is used: the one
--   stored procedure is a single piece, sent whole. (Consequently the mysql /
--   mariadb command-line client cannot run this file as-is, because it would
--   split the procedure body at its inner ';'; use the splitter.)
--
-- IDEMPOTENCE
--   Safe to run any number of times: tables use CREATE TABLE IF NOT EXISTS,
--   the procedure is dropped (IF EXISTS) and re-created, and every OrleansQuery
--   row is written with REPLACE INTO, so a re-run refreshes the query text and
--   never duplicates a row. Existing tables are never altered; data is never
--   deleted by this script.
--
-- CONVENTIONS
--   * Table names are case-sensitive on Linux servers (lower_case_table_names=0):
--     the providers use exactly OrleansQuery, and our queries use exactly the
--     names created here.
--   * Tables are InnoDB, utf8mb4 with binary collation (utf8mb4_bin), so keys
--     such as grain ids and reminder names compare case-sensitively.
--   * Times are DATETIME(3) holding UTC (the providers send UTC values); no
--     session time-zone conversion applies to DATETIME.
--   * No query uses user variables, so the MySqlConnector connection string
--     needs no AllowUserVariables=true.
--   * Membership rows are keyed by DeploymentId = Orleans ClusterOptions.ClusterId;
--     reminder rows are keyed by ServiceId = Orleans ClusterOptions.ServiceId.
--   * SiloStatus values used in the queries: 3 = Active, 6 = Dead.
--   * Creating the procedure needs the CREATE ROUTINE privilege (ALTER ROUTINE
--     to drop it on a re-run); calling it needs EXECUTE.
-- =============================================================================

-- Catalogue of the SQL the Orleans ADO.NET providers execute.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  VARCHAR(64) NOT NULL,
    QueryText TEXT        NOT NULL,

    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
-- GO

-- =============================================================================
-- Clustering (membership)
-- =============================================================================

-- One row per cluster. Version is the membership table's version token
-- (ETag); every successful membership insert/update increments it.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId VARCHAR(150) NOT NULL,
    Timestamp    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    Version      INT          NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
-- GO

-- One row per silo incarnation (address, port, generation) of a cluster.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId VARCHAR(150) NOT NULL,
    Address      VARCHAR(45)  NOT NULL,
    Port         INT          NOT NULL,
    Generation   INT          NOT NULL,
    SiloName     VARCHAR(255) NOT NULL,
    HostName     VARCHAR(255) NOT NULL,
    Status       INT          NOT NULL,
    ProxyPort    INT          NOT NULL DEFAULT 0,
    SuspectTimes TEXT         NULL,
    StartTime    DATETIME(3)  NOT NULL,
    IAmAliveTime DATETIME(3)  NOT NULL,

    CONSTRAINT PK_MembershipTable_DeploymentId
        PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
-- GO

DROP PROCEDURE IF EXISTS OrleansMembershipInsert;
-- GO

-- Adds a silo row and bumps the table version in one transaction. Returns a
-- single row/column: 1 only when the caller's version was current AND the
-- silo row did not exist yet; otherwise everything is rolled back and 0 is
-- returned. Any other error rolls back and is re-raised to the caller.
CREATE PROCEDURE OrleansMembershipInsert(
    IN p_DeploymentId VARCHAR(150) CHARACTER SET utf8mb4,
    IN p_Address      VARCHAR(45)  CHARACTER SET utf8mb4,
    IN p_Port         INT,
    IN p_Generation   INT,
    IN p_SiloName     VARCHAR(255) CHARACTER SET utf8mb4,
    IN p_HostName     VARCHAR(255) CHARACTER SET utf8mb4,
    IN p_Status       INT,
    IN p_ProxyPort    INT,
    IN p_StartTime    DATETIME(3),
    IN p_IAmAliveTime DATETIME(3),
    IN p_Version      INT
)
MODIFIES SQL DATA
BEGIN
    DECLARE v_ok INT DEFAULT 0;
    DECLARE v_duplicate INT DEFAULT 0;
    -- 1062 = duplicate key: the silo row already exists.
    DECLARE CONTINUE HANDLER FOR 1062 SET v_duplicate = 1;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;

    START TRANSACTION;

    -- Taking the version row first serialises concurrent writers: a second
    -- writer holding the same version finds no match once the first commits.
    UPDATE OrleansMembershipVersionTable
       SET Version = Version + 1
     WHERE DeploymentId = p_DeploymentId COLLATE utf8mb4_bin
       AND Version = p_Version
       AND Version < 2147483647;
    SET v_ok = ROW_COUNT();

    IF v_ok > 0 THEN
        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName,
             Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES
            (p_DeploymentId, p_Address, p_Port, p_Generation, p_SiloName, p_HostName,
             p_Status, p_ProxyPort, p_StartTime, p_IAmAliveTime);
        IF v_duplicate = 1 THEN
            SET v_ok = 0;
        END IF;
    END IF;

    IF v_ok > 0 THEN
        COMMIT;
    ELSE
        ROLLBACK;
    END IF;

    SELECT v_ok > 0 AS Inserted;
END;
-- GO

-- Heartbeat. Touches only IAmAliveTime (never the version), never backwards.
-- Parameters: DeploymentId, Address, Port, Generation, IAmAliveTime.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
   SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation;
');
-- GO

-- Creates the cluster's version row if missing.
-- Parameters: DeploymentId. Returns one column: 1 if created, else 0.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', '
INSERT IGNORE INTO OrleansMembershipVersionTable (DeploymentId)
SELECT @DeploymentId FROM DUAL WHERE @DeploymentId IS NOT NULL;
SELECT ROW_COUNT() > 0 AS Created;
');
-- GO

-- Parameters: DeploymentId, Address, Port, Generation, SiloName, HostName,
-- Status, ProxyPort, StartTime, IAmAliveTime, Version.
-- Returns one column (1/0) from the procedure.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', '
CALL OrleansMembershipInsert(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
');
-- GO

-- One multi-table UPDATE: bumps the version and changes the silo row only if
-- the caller's version is current AND the silo row exists (both or neither).
-- Parameters: DeploymentId, Address, Port, Generation, Status, SuspectTimes,
-- IAmAliveTime, Version. Returns one column: 1 if updated, else 0.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', '
UPDATE OrleansMembershipVersionTable v
  JOIN OrleansMembershipTable m
    ON m.DeploymentId = v.DeploymentId
   SET v.Version = v.Version + 1,
       m.Status = @Status,
       m.SuspectTimes = @SuspectTimes,
       m.IAmAliveTime = GREATEST(m.IAmAliveTime, @IAmAliveTime)
 WHERE v.DeploymentId = @DeploymentId
   AND v.Version = @Version
   AND v.Version < 2147483647
   AND m.Address = @Address
   AND m.Port = @Port
   AND m.Generation = @Generation;
SELECT ROW_COUNT() > 0 AS Updated;
');
-- GO

-- One silo's row plus the table version. The version row is always returned
-- (member columns NULL when the silo has no row).
-- Parameters: DeploymentId, Address, Port, Generation.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', '
SELECT v.DeploymentId,
       m.Address,
       m.Port,
       m.Generation,
       m.SiloName,
       m.HostName,
       m.Status,
       m.ProxyPort,
       m.SuspectTimes,
       m.StartTime,
       m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address
        AND m.Port = @Port
        AND m.Generation = @Generation
 WHERE v.DeploymentId = @DeploymentId;
');
-- GO

-- All silo rows plus the table version (one statement = one snapshot).
-- Parameters: DeploymentId.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', '
SELECT v.DeploymentId,
       m.Address,
       m.Port,
       m.Generation,
       m.SiloName,
       m.HostName,
       m.Status,
       m.ProxyPort,
       m.SuspectTimes,
       m.StartTime,
       m.IAmAliveTime,
       v.Version
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId;
');
-- GO

-- Removes a whole cluster (silo rows first, then the version row).
-- Parameters: DeploymentId.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable
 WHERE DeploymentId = @DeploymentId;
');
-- GO

-- Gateways (Active silos with a proxy port) for clients.
-- Parameters: DeploymentId, Status (the provider passes 3 = Active).
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', '
SELECT Address,
       ProxyPort,
       Generation
  FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = @Status
   AND ProxyPort > 0;
');
-- GO

-- Bulk clean-up of Dead silos. Required at start-up, but the 10.4.2 provider
-- only executes it when CleanupDefunctSiloEntryKey (below) is absent.
-- Parameters: DeploymentId, IAmAliveTime (the cut-off).
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = 6
   AND IAmAliveTime < @IAmAliveTime
   AND StartTime < @IAmAliveTime
   AND COALESCE(SuspectTimes, '''') = '''';
');
-- GO

-- Optional in 10.4.2, used when present: deletes ONE Dead silo row, only if
-- it still holds the values the provider read (so a concurrent change wins).
-- Parameters: DeploymentId, Address, Port, Generation, StartTime,
-- IAmAliveTime, SuspectTimes.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation
   AND Status = 6
   AND StartTime = @StartTime
   AND IAmAliveTime = @IAmAliveTime
   AND COALESCE(SuspectTimes, '''') = COALESCE(@SuspectTimes, '''');
');
-- GO

-- =============================================================================
-- Reminders
-- =============================================================================

-- GrainHash is the grain's uniform hash stored as a signed 32-bit integer;
-- Period is in milliseconds; Version is the row's ETag.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    VARCHAR(150) NOT NULL,
    GrainId      VARCHAR(255) NOT NULL,
    ReminderName VARCHAR(255) NOT NULL,
    StartTime    DATETIME(3)  NOT NULL,
    Period       BIGINT       NOT NULL,
    GrainHash    INT          NOT NULL,
    Version      INT          NOT NULL,

    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName
        PRIMARY KEY (ServiceId, GrainId, ReminderName),
    INDEX IX_RemindersTable_ServiceId_GrainHash (ServiceId, GrainHash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
-- GO

-- Parameters: ServiceId, GrainId.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId;
');
-- GO

-- Parameters: ServiceId, GrainId, ReminderName.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId
   AND ReminderName = @ReminderName;
');
-- GO

-- Hash range (BeginHash, EndHash] when BeginHash < EndHash as signed ints.
-- Parameters: ServiceId, BeginHash, EndHash.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash > @BeginHash
   AND GrainHash <= @EndHash;
');
-- GO

-- Wrapping hash range: above BeginHash or up to EndHash.
-- Parameters: ServiceId, BeginHash, EndHash.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT GrainId,
       ReminderName,
       StartTime,
       Period,
       Version
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
');
-- GO

-- Insert (Version 0) or update (Version + 1) in one atomic statement. The
-- resulting Version is handed to the following SELECT through the session's
-- LAST_INSERT_ID(expr) value (this table has no AUTO_INCREMENT column).
-- Parameters: ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash.
-- Returns one row with column Version (the new ETag).
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, LAST_INSERT_ID(0))
ON DUPLICATE KEY UPDATE
    StartTime = @StartTime,
    Period    = @Period,
    GrainHash = @GrainHash,
    Version   = LAST_INSERT_ID(Version + 1);
SELECT LAST_INSERT_ID() AS Version;
');
-- GO

-- Deletes one reminder if its ETag still matches.
-- Parameters: ServiceId, GrainId, ReminderName, Version.
-- Returns one column: 1 if a row was deleted, else 0.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
DELETE FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId
   AND ReminderName = @ReminderName
   AND Version = @Version;
SELECT ROW_COUNT() > 0 AS Deleted;
');
-- GO

-- Parameters: ServiceId.
REPLACE INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId;
');
-- GO
