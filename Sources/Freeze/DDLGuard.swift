import CleaveCore
import PostgresDriver

/// Event triggers that refuse DDL on frozen tables: `ALTER TABLE` (which is how `DISABLE TRIGGER`, `ATTACH
/// PARTITION` and renames are done), `CREATE TABLE … PARTITION OF` a frozen table, creating or altering a
/// trigger on one, and dropping a freeze trigger or a frozen table.
///
/// Only a superuser may create event triggers, so the freeze adds them when it runs as one, and otherwise says
/// that DDL by the tables' owner is detected (by `freeze`, `status` and `verify`) but not prevented. The guard
/// functions run as their owner (`SECURITY DEFINER`, fixed `search_path`), so a role that cannot read
/// `_cleave_freeze` is still checked. A superuser can still disable them, or set `session_replication_role`;
/// `status` reports a disabled guard.
enum DDLGuard {
  /// Whether the guard is there, and firing.
  enum State: String, Sendable {
    case absent, enabled, disabled
  }

  static let names = ["cleave_freeze_ddl", "cleave_freeze_drop"]

  static func state(on source: SerialConnection) async throws -> State {
    let states = try await source.query(
      "SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = ANY($1::text[])",
      [PostgresArray.literal(names)]
    ).rows.map { $0.first.flatMap { $0 } ?? "" }
    if states.isEmpty { return .absent }
    return states.count == names.count && states.allSatisfy { $0 == "O" || $0 == "A" } ? .enabled : .disabled
  }

  /// Whether the connected role may create event triggers.
  static func mayInstall(on source: SerialConnection) async throws -> Bool {
    try await source.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar == "t"
  }

  /// Turns the guard off for the rest of the transaction (the freeze's own DDL on frozen tables), if it is there.
  static func suspend(on source: SerialConnection) async throws {
    for name in names where try await exists(name, on: source) {
      try await source.execute("ALTER EVENT TRIGGER \(name) DISABLE")
    }
  }

  /// Creates the guard, or turns it on again, in the current transaction.
  static func install(on source: SerialConnection) async throws {
    try await source.execute(functions)
    if try await exists(names[0], on: source) {
      for name in names { try await source.execute("ALTER EVENT TRIGGER \(name) ENABLE") }
      return
    }
    try await source.execute(
      """
      CREATE EVENT TRIGGER cleave_freeze_ddl ON ddl_command_end EXECUTE FUNCTION _cleave_freeze.guard_ddl();
      CREATE EVENT TRIGGER cleave_freeze_drop ON sql_drop EXECUTE FUNCTION _cleave_freeze.guard_drop();
      COMMENT ON EVENT TRIGGER cleave_freeze_ddl IS 'cleave: freeze';
      COMMENT ON EVENT TRIGGER cleave_freeze_drop IS 'cleave: freeze';
      """)
  }

  /// Drops the guard, in the current transaction.
  static func remove(on source: SerialConnection) async throws {
    for name in names { try await source.execute("DROP EVENT TRIGGER IF EXISTS \(name)") }
  }

  static func exists(_ name: String, on source: SerialConnection) async throws -> Bool {
    try await source.query("SELECT count(*) FROM pg_event_trigger WHERE evtname = $1", [name]).scalar != "0"
  }

  static let functions = """
    CREATE OR REPLACE FUNCTION _cleave_freeze.is_frozen(rel oid) RETURNS boolean
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT EXISTS (
          SELECT 1 FROM _cleave_freeze.frozen f
          WHERE to_regclass(f.table_name) = rel
             OR to_regclass(f.table_name) IN (SELECT relid FROM pg_partition_ancestors(rel)))
      $$;
    CREATE OR REPLACE FUNCTION _cleave_freeze.guard_ddl() RETURNS event_trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
      command record;
      relation oid;
    BEGIN
      FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        relation := NULL;
        IF command.classid = 'pg_class'::regclass AND command.command_tag IN ('ALTER TABLE', 'CREATE TABLE',
            'ALTER FOREIGN TABLE', 'CREATE FOREIGN TABLE') THEN
          relation := command.objid;
        ELSIF command.classid = 'pg_trigger'::regclass THEN
          SELECT tgrelid INTO relation FROM pg_trigger WHERE oid = command.objid;
        END IF;
        IF relation IS NOT NULL AND _cleave_freeze.is_frozen(relation) THEN
          RAISE EXCEPTION 'cleave: % refused on %: the table is frozen, it moved to a service''s database',
              command.command_tag, command.object_identity
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'change the table in its service''s database; cleave unfreeze lifts the freeze';
        END IF;
      END LOOP;
    END $$;
    CREATE OR REPLACE FUNCTION _cleave_freeze.guard_drop() RETURNS event_trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
      dropped record;
    BEGIN
      FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF (dropped.object_type = 'trigger' AND dropped.address_names[3] IN ('cleave_freeze', 'cleave_freeze_truncate'))
          OR (dropped.object_type IN ('table', 'foreign table') AND dropped.original AND EXISTS (
            SELECT 1 FROM _cleave_freeze.frozen f
            WHERE f.table_name = format('%I.%I', dropped.address_names[1], dropped.address_names[2])
               OR f.table_name = dropped.object_identity))
        THEN
          RAISE EXCEPTION 'cleave: dropping % refused: it guards or is a frozen table', dropped.object_identity
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'cleave unfreeze lifts the freeze first';
        END IF;
      END LOOP;
    END $$;
    """
}
