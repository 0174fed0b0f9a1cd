-- =============================================================================
-- ResultGrid: Orleans ADO.NET clustering + reminders schema for PostgreSQL 15+
-- =============================================================================
--
-- ResultGrid's own setup script, written for compatibility with
-- Microsoft.Orleans.Clustering.AdoNet 10.4.2 and Microsoft.Orleans.Reminders.AdoNet
-- 10.4.2 (ADO.NET invariant "Npgsql"). The providers run
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
--   one SQL statement (function bodies are dollar-quoted) and ends with ';'.
--   Because the separator is an SQL comment, the file also runs unchanged with
--       psql -v ON_ERROR_STOP=1 -f PostgreSQL-Orleans.sql
--
-- IDEMPOTENCE
--   Safe to run any number of times: tables and indexes use IF NOT EXISTS,
--   functions use CREATE OR REPLACE, and every OrleansQuery row is an upsert,
--   so a re-run refreshes the query text and never duplicates a row.
--   Existing tables are never altered; data is never deleted by this script.
--
-- CONVENTIONS
--   * Identifiers are unquoted, so PostgreSQL folds them to lower case; the
--     providers' own SELECT on OrleansQuery is unquoted too and Npgsql matches
--     result columns case-insensitively. Result columns of our queries carry
--     quoted aliases with the exact spelling the providers ask for.
--   * Times are timestamptz(3). The providers send UTC DateTime values with
--     DbType.DateTime, which Npgsql (6.0 and later) sends as timestamptz.
--   * Membership rows are keyed by DeploymentId = Orleans ClusterOptions.ClusterId;
--     reminder rows are keyed by ServiceId = Orleans ClusterOptions.ServiceId.
--   * SiloStatus values used in the queries: 3 = Active, 6 = Dead.
-- =============================================================================

-- Catalogue of the SQL the Orleans ADO.NET providers execute.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);
-- GO

-- =============================================================================
-- Clustering (membership)
-- =============================================================================

-- One row per cluster. Version is the membership table's version token
-- (ETag); every successful membership insert/update increments it.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);
-- GO

-- One row per silo incarnation (address, port, generation) of a cluster.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(255)   NOT NULL,
    HostName     varchar(255)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NOT NULL DEFAULT 0,
    SuspectTimes text           NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,

    CONSTRAINT PK_MembershipTable_DeploymentId
        PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);
-- GO

-- Adds a silo row and bumps the table version as one unit. Returns true only
-- when the caller's version was current AND the silo row did not exist yet;
-- in every other case nothing is changed and false is returned.
CREATE OR REPLACE FUNCTION orleans_membership_insert(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_silo_name      text,
    p_host_name      text,
    p_status         integer,
    p_proxy_port     integer,
    p_start_time     timestamptz,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    affected integer;
BEGIN
    -- Inner block = savepoint: raising inside it undoes the version bump.
    BEGIN
        -- Taking the version row first serialises concurrent writers: a
        -- second writer holding the same version finds no match once the
        -- first one has committed.
        UPDATE OrleansMembershipVersionTable
           SET Version   = Version + 1,
               Timestamp = now()
         WHERE DeploymentId = p_deployment_id
           AND Version = p_version
           AND Version < 2147483647;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RETURN false;
        END IF;

        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName,
             Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES
            (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
             p_status, p_proxy_port, p_start_time, p_i_am_alive)
        ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RAISE EXCEPTION 'orleans: membership row already exists'
                USING ERRCODE = 'OR001';
        END IF;

        RETURN true;
    EXCEPTION
        WHEN SQLSTATE 'OR001' THEN
            RETURN false;
    END;
END;
$fn$;
-- GO

-- Updates a silo row and bumps the table version as one unit. Returns true
-- only when the caller's version was current AND the silo row exists; in
-- every other case nothing is changed and false is returned.
-- IAmAliveTime never moves backwards (a heartbeat may have advanced it).
CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_status         integer,
    p_suspect_times  text,
    p_i_am_alive     timestamptz,
    p_version        integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    affected integer;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
           SET Version   = Version + 1,
               Timestamp = now()
         WHERE DeploymentId = p_deployment_id
           AND Version = p_version
           AND Version < 2147483647;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RETURN false;
        END IF;

        UPDATE OrleansMembershipTable
           SET Status       = p_status,
               SuspectTimes = p_suspect_times,
               IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive)
         WHERE DeploymentId = p_deployment_id
           AND Address = p_address
           AND Port = p_port
           AND Generation = p_generation;
        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected = 0 THEN
            RAISE EXCEPTION 'orleans: membership row not found'
                USING ERRCODE = 'OR002';
        END IF;

        RETURN true;
    EXCEPTION
        WHEN SQLSTATE 'OR002' THEN
            RETURN false;
    END;
END;
$fn$;
-- GO

-- Heartbeat. Touches only IAmAliveTime (never the version), never backwards.
-- Parameters: DeploymentId, Address, Port, Generation, IAmAliveTime.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateIAmAlivetimeKey', $q$
UPDATE OrleansMembershipTable
   SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Creates the cluster's version row if missing.
-- Parameters: DeploymentId. Returns one boolean column: true if created.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT COUNT(*) > 0 AS "Created" FROM created;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Parameters: DeploymentId, Address, Port, Generation, SiloName, HostName,
-- Status, ProxyPort, StartTime, IAmAliveTime, Version.
-- Returns one boolean column.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('InsertMembershipKey', $q$
SELECT orleans_membership_insert(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS "Inserted";
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Parameters: DeploymentId, Address, Port, Generation, Status, SuspectTimes,
-- IAmAliveTime, Version. Returns one boolean column.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpdateMembershipKey', $q$
SELECT orleans_membership_update(
    @DeploymentId, @Address, @Port, @Generation,
    @Status, @SuspectTimes, @IAmAliveTime, @Version) AS "Updated";
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- One silo's row plus the table version. The version row is always returned
-- (member columns NULL when the silo has no row).
-- Parameters: DeploymentId, Address, Port, Generation.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadRowKey', $q$
SELECT v.DeploymentId AS "DeploymentId",
       m.Address      AS "Address",
       m.Port         AS "Port",
       m.Generation   AS "Generation",
       m.SiloName     AS "SiloName",
       m.HostName     AS "HostName",
       m.Status       AS "Status",
       m.ProxyPort    AS "ProxyPort",
       m.SuspectTimes AS "SuspectTimes",
       m.StartTime    AS "StartTime",
       m.IAmAliveTime AS "IAmAliveTime",
       v.Version      AS "Version"
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address
        AND m.Port = @Port
        AND m.Generation = @Generation
 WHERE v.DeploymentId = @DeploymentId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- All silo rows plus the table version (one statement = one snapshot).
-- Parameters: DeploymentId.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('MembershipReadAllKey', $q$
SELECT v.DeploymentId AS "DeploymentId",
       m.Address      AS "Address",
       m.Port         AS "Port",
       m.Generation   AS "Generation",
       m.SiloName     AS "SiloName",
       m.HostName     AS "HostName",
       m.Status       AS "Status",
       m.ProxyPort    AS "ProxyPort",
       m.SuspectTimes AS "SuspectTimes",
       m.StartTime    AS "StartTime",
       m.IAmAliveTime AS "IAmAliveTime",
       v.Version      AS "Version"
  FROM OrleansMembershipVersionTable v
  LEFT JOIN OrleansMembershipTable m
         ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Removes a whole cluster (silo rows and version row).
-- Parameters: DeploymentId.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteMembershipTableEntriesKey', $q$
WITH silos AS (
    DELETE FROM OrleansMembershipTable
     WHERE DeploymentId = @DeploymentId
)
DELETE FROM OrleansMembershipVersionTable
 WHERE DeploymentId = @DeploymentId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Gateways (Active silos with a proxy port) for clients.
-- Parameters: DeploymentId, Status (the provider passes 3 = Active).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('GatewaysQueryKey', $q$
SELECT Address    AS "Address",
       ProxyPort  AS "ProxyPort",
       Generation AS "Generation"
  FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = @Status
   AND ProxyPort > 0;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Bulk clean-up of Dead silos. Required at start-up, but the 10.4.2 provider
-- only executes it when CleanupDefunctSiloEntryKey (below) is absent.
-- Parameters: DeploymentId, IAmAliveTime (the cut-off).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Status = 6
   AND IAmAliveTime < @IAmAliveTime
   AND StartTime < @IAmAliveTime
   AND COALESCE(SuspectTimes, '') = '';
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Optional in 10.4.2, used when present: deletes ONE Dead silo row, only if
-- it still holds the values the provider read (so a concurrent change wins).
-- Parameters: DeploymentId, Address, Port, Generation, StartTime,
-- IAmAliveTime, SuspectTimes.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('CleanupDefunctSiloEntryKey', $q$
DELETE FROM OrleansMembershipTable
 WHERE DeploymentId = @DeploymentId
   AND Address = @Address
   AND Port = @Port
   AND Generation = @Generation
   AND Status = 6
   AND StartTime = @StartTime
   AND IAmAliveTime = @IAmAliveTime
   AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- =============================================================================
-- Reminders
-- =============================================================================

-- GrainHash is the grain's uniform hash stored as a signed 32-bit integer;
-- Period is in milliseconds; Version is the row's ETag.
CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      varchar(255)   NOT NULL,
    ReminderName varchar(255)   NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,
    GrainHash    integer        NOT NULL,
    Version      integer        NOT NULL,

    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName
        PRIMARY KEY (ServiceId, GrainId, ReminderName)
);
-- GO

CREATE INDEX IF NOT EXISTS IX_RemindersTable_ServiceId_GrainHash
    ON OrleansRemindersTable (ServiceId, GrainHash);
-- GO

-- Parameters: ServiceId, GrainId.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', $q$
SELECT GrainId      AS "GrainId",
       ReminderName AS "ReminderName",
       StartTime    AS "StartTime",
       Period       AS "Period",
       Version      AS "Version"
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Parameters: ServiceId, GrainId, ReminderName.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', $q$
SELECT GrainId      AS "GrainId",
       ReminderName AS "ReminderName",
       StartTime    AS "StartTime",
       Period       AS "Period",
       Version      AS "Version"
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainId = @GrainId
   AND ReminderName = @ReminderName;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Hash range (BeginHash, EndHash] when BeginHash < EndHash as signed ints.
-- Parameters: ServiceId, BeginHash, EndHash.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', $q$
SELECT GrainId      AS "GrainId",
       ReminderName AS "ReminderName",
       StartTime    AS "StartTime",
       Period       AS "Period",
       Version      AS "Version"
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND GrainHash > @BeginHash
   AND GrainHash <= @EndHash;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Wrapping hash range: above BeginHash or up to EndHash.
-- Parameters: ServiceId, BeginHash, EndHash.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', $q$
SELECT GrainId      AS "GrainId",
       ReminderName AS "ReminderName",
       StartTime    AS "StartTime",
       Period       AS "Period",
       Version      AS "Version"
  FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId
   AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Insert (Version 0) or update (Version + 1) in one atomic statement.
-- Parameters: ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash.
-- Returns one row with column Version (the new ETag).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', $q$
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
   SET StartTime = EXCLUDED.StartTime,
       Period    = EXCLUDED.Period,
       GrainHash = EXCLUDED.GrainHash,
       Version   = r.Version + 1
RETURNING r.Version AS "Version";
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Deletes one reminder if its ETag still matches.
-- Parameters: ServiceId, GrainId, ReminderName, Version.
-- Returns one boolean column: true if a row was deleted.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', $q$
WITH removed AS (
    DELETE FROM OrleansRemindersTable
     WHERE ServiceId = @ServiceId
       AND GrainId = @GrainId
       AND ReminderName = @ReminderName
       AND Version = @Version
    RETURNING 1
)
SELECT COUNT(*) > 0 AS "Deleted" FROM removed;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO

-- Parameters: ServiceId.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', $q$
DELETE FROM OrleansRemindersTable
 WHERE ServiceId = @ServiceId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
-- GO
