import Catalog
import CleaveCore
import Plan
import PostgresDriver

/// The fence an online rollback puts on the service database's tables while it moves the application back: a
/// statement trigger on each table that refuses every write, after a lock that waits out the writers already
/// there (as the source's freeze does).
///
/// Like the freeze's, the triggers do not fire in logical replication's apply workers
/// (`session_replication_role = replica`), so the forward stream can still write.
enum TargetFence {
  static let function = """
    CREATE OR REPLACE FUNCTION _cleave_online.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'cleave: % is fenced while its service moves back to the source', TG_TABLE_NAME
        USING ERRCODE = 'read_only_sql_transaction',
        HINT = 'the application writes to the source again once `cleave online rollback` ends';
    END $$;
    """

  /// The service database's tables for `service` (partitions included: their statements do not fire the parent's).
  static func tables(_ service: ServicePlan, catalog: DatabaseCatalog) -> [String] {
    service.tables.compactMap { name in
      catalog.table(name).map { TableProjection(table: $0, service: service, catalog: catalog).target.quoted }
    }
  }

  /// Locks every table (waiting at most `wait` for writers), then fences it, in one transaction.
  static func put(on tables: [String], admin: SerialConnection, wait: Duration) async throws {
    var script =
      "BEGIN; SET LOCAL lock_timeout = '\(max(1, Int(wait.inSeconds * 1000)))ms'; \(function)\n"
      + "LOCK TABLE \(tables.joined(separator: ", ")) IN SHARE ROW EXCLUSIVE MODE;\n"
    for table in tables {
      script += """
        DROP TRIGGER IF EXISTS cleave_online_fence ON \(table);
        CREATE TRIGGER cleave_online_fence BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON \(table)
          FOR EACH STATEMENT EXECUTE FUNCTION _cleave_online.refuse();

        """
    }
    do { try await admin.execute(script + "COMMIT") } catch {
      try? await admin.execute("ROLLBACK")
      throw CleaveError(
        .cutoverAborted, "the service database's tables could not be fenced in time",
        hint: "a transaction there held them; roll back again when it is quieter", cause: error)
    }
  }

  /// Drops the fence's triggers, where they are.
  static func lift(on tables: [String], admin: SerialConnection) async throws {
    let script = tables.map { "DROP TRIGGER IF EXISTS cleave_online_fence ON \($0);" }.joined(separator: "\n")
    try await admin.execute("BEGIN; \(script) COMMIT")
  }
}
