import CleaveCore
import PostgresDriver

/// How DDL on a moved table stops the stream with a clear message, since PostgreSQL does not replicate DDL.
///
/// On the source, an event trigger (`cleave_online_ddl`, at `ddl_command_end`) records every command whose object
/// is a table one of Cleave's publications carries (or a partition of one, or an index on one) as a row of
/// `_cleave_online.ddl`, in the same transaction as the DDL. Each publication carries its own rows of that table.
/// On the service's database, a trigger that fires in the apply worker too (`ENABLE ALWAYS`) rejects every such row
/// with a message naming the command, the table and the statement: the apply worker stops at exactly that
/// transaction (every change before it applied, nothing after it) and the subscription, made with
/// `disable_on_error`, disables itself. `online status` then reports the recorded command.
///
/// The event trigger needs a superuser on the source; without one it is not made, `online check` says so, and a
/// change of a moved table's columns still stops the stream (PostgreSQL's own error, less clear).
enum DDLWatch {
  /// The source's table, function and event trigger (the trigger only when the role is a superuser); run in a
  /// transaction.
  static let sourceObjects = """
    CREATE TABLE IF NOT EXISTS _cleave_online.ddl (
      publication text NOT NULL,
      id bigserial,
      command text NOT NULL,
      object text NOT NULL,
      statement text,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (publication, id));
    CREATE OR REPLACE FUNCTION _cleave_online.record_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $cleave$
    DECLARE
      c record;
    BEGIN
      FOR c IN
        SELECT DISTINCT p.pubname, d.command_tag, d.object_identity
        FROM pg_event_trigger_ddl_commands() d
        CROSS JOIN LATERAL (SELECT coalesce((SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = d.objid),
                                            d.objid) AS relid) t
        JOIN pg_publication_rel r
          ON r.prrelid = t.relid OR r.prrelid IN (SELECT relid FROM pg_partition_ancestors(t.relid))
        JOIN pg_publication p ON p.oid = r.prpubid
        WHERE d.classid = 'pg_class'::regclass
          AND obj_description(p.oid, 'pg_publication') LIKE 'cleave: online %'
      LOOP
        INSERT INTO _cleave_online.ddl (publication, command, object, statement)
        VALUES (c.pubname, c.command_tag, c.object_identity, left(current_query(), 500));
      END LOOP;
    END
    $cleave$;
    DO $cleave$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cleave_online_ddl')
        AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE EVENT TRIGGER cleave_online_ddl ON ddl_command_end EXECUTE FUNCTION _cleave_online.record_ddl();
        COMMENT ON EVENT TRIGGER cleave_online_ddl IS 'cleave: online; records DDL on moved tables';
      END IF;
    END
    $cleave$;
    """

  /// The service database's table and the trigger that stops the apply worker at a recorded command.
  static let targetObjects = """
    CREATE TABLE IF NOT EXISTS _cleave_online.ddl (
      publication text NOT NULL,
      id bigint NOT NULL,
      command text NOT NULL,
      object text NOT NULL,
      statement text,
      at timestamptz NOT NULL,
      PRIMARY KEY (publication, id));
    CREATE OR REPLACE FUNCTION _cleave_online.stop_on_ddl() RETURNS trigger LANGUAGE plpgsql AS $cleave$
    BEGIN
      RAISE EXCEPTION 'cleave: % on moved table % on the source; PostgreSQL does not replicate DDL, so the stream '
        'stops here', NEW.command, NEW.object
        USING DETAIL = 'statement: ' || coalesce(NEW.statement, '?'),
              HINT = 'cleave online status names it; cancel and start the service again once the plan and the '
                     'service database agree with the change';
    END
    $cleave$;
    CREATE OR REPLACE TRIGGER stop_on_ddl BEFORE INSERT ON _cleave_online.ddl
      FOR EACH ROW EXECUTE FUNCTION _cleave_online.stop_on_ddl();
    ALTER TABLE _cleave_online.ddl ENABLE ALWAYS TRIGGER stop_on_ddl;
    """

  /// Whether the connected role may make the event trigger (a superuser).
  static func canWatch(on source: SerialConnection) async throws -> Bool {
    try await source.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar == "t"
  }

  /// The commands recorded for `publication`, oldest first, as "ALTER TABLE on public.orders at …: statement".
  static func recorded(for publication: String, on source: SerialConnection) async throws -> [String] {
    guard try await source.query("SELECT to_regclass('_cleave_online.ddl') IS NOT NULL").scalar == "t" else {
      return []
    }
    return try await source.query(
      """
      SELECT command || ' on ' || object || ' at ' || at::text || ': ' || coalesce(statement, '?')
      FROM _cleave_online.ddl WHERE publication = $1 ORDER BY id
      """, [publication]
    ).rows.compactMap { $0.first ?? nil }
  }

  /// What status and the cutover's gate say about one recorded command.
  static func problem(_ command: String) -> String {
    "DDL on a moved table, which PostgreSQL does not replicate: \(command); the stream stops at it (the service "
      + "database gets every change before it and none after); cancel the service (cleave online cancel) and start "
      + "it again once the plan and the service database agree with the change"
  }
}
