import Catalog
import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver

/// `cleave freeze` and `cleave unfreeze`: stops, and lets again, every write to the source tables a service
/// moved, so that nothing is written to the old place after the copy.
///
/// The mechanism is a statement-level `BEFORE INSERT OR UPDATE OR DELETE` trigger and a `BEFORE TRUNCATE`
/// trigger on each moved table (each partition too: a statement on a partition does not fire its parent's
/// statement triggers), calling `_cleave_freeze.refuse()`, which raises an error naming the table and the
/// service. Triggers hold for every role: table owners and superusers, whom revoked privileges do not stop
/// (pg_easy_replicate's issue #164), and sessions that would just `SET default_transaction_read_only = off`.
/// The one way around them is `session_replication_role = replica`, which only a superuser can set, and which
/// logical replication's apply workers use.
///
/// Before the triggers take effect, the freeze takes a `SHARE ROW EXCLUSIVE` lock on every table, which waits
/// for each transaction that has written to them to end: no write from a transaction open across the freeze can
/// land after it (Vitess PR #9453). It waits at most `wait`, then names those transactions. Everything it
/// creates lives in the schema `_cleave_freeze` (marked `cleave: freeze`), with a record per table: when, at
/// which WAL position, and the table's write counters at that moment, so `cleave status` can show that nothing
/// was written since. Unfreeze drops exactly those triggers, and the schema with the last of them.
public struct Freezer: Sendable {
  public var plan: SplitPlan
  /// The services to freeze or unfreeze (all of the plan's when empty).
  public var services: [String]
  /// Where freezing and unfreezing are logged, with their durations.
  public var logger: Logger = .silent

  public init(plan: SplitPlan, services: [String] = []) {
    self.plan = plan
    self.services = services
  }

  static let schema = "_cleave_freeze"
  static let mark = "cleave: freeze"

  /// One frozen table, as recorded in the source.
  public struct Record: Sendable, Codable, Equatable {
    public var service: String
    public var table: String
    public var frozenAt: String
    public var walPosition: String
    /// Rows inserted, updated and deleted in the table when it was frozen, and now (from the statistics).
    public var writesAtFreeze: Int
    public var writesNow: Int
  }

  private var chosen: [ServicePlan] {
    plan.services.filter { services.isEmpty || services.contains($0.name) }
  }

  private func connect() async throws -> SerialConnection {
    do { return try await SerialConnection.connect(ConnInfo(plan.file.source.url)) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
  }

  /// Freezes the chosen services' tables; a table already frozen stays as it is.
  ///
  /// - Parameter wait: how long to wait for transactions that have written to the tables to end.
  /// - Returns: the records of every frozen table of the chosen services.
  /// - Throws: `CleaveError` (`freezeBlocked`) naming the transactions still open after `wait`, or
  ///   (`freezeFailed`) when the source refuses (the role needs to own the tables, or be a superuser).
  public func freeze(wait: Duration) async throws -> [Record] {
    try await logger.step("freezing the moved source tables") { try await freezeNow(wait: wait) }
  }

  private func freezeNow(wait: Duration) async throws -> [Record] {
    let source = try await connect()
    defer { Task { await source.close() } }
    let already = Set(try await records(on: source).map(\.table))
    var tables: [(service: String, table: QualifiedName)] = []
    for service in chosen {
      for table in service.tables where !already.contains(table.description) { tables.append((service.name, table)) }
    }
    guard !tables.isEmpty else { return try await records(on: source) }
    let names = tables.map(\.table.quoted).joined(separator: ", ")
    let clock = ContinuousClock()
    let deadline = clock.now + wait
    while true {
      do {
        try await source.execute(
          "BEGIN; SET LOCAL lock_timeout = '1s'; LOCK TABLE \(names) IN SHARE ROW EXCLUSIVE MODE")
        break
      } catch let error where error.sqlState == "55P03" {  // lock_not_available
        try? await source.execute("ROLLBACK")
        if clock.now >= deadline {
          throw CleaveError(
            .freezeBlocked,
            "cannot freeze: transactions that wrote to the moved tables are still open: "
              + (try await writers(of: tables.map(\.table), on: source)),
            hint: "let them finish (or end them with pg_terminate_backend), then run freeze again; "
              + "--wait gives them longer")
        }
      } catch {
        try? await source.execute("ROLLBACK")
        throw CleaveError(.freezeFailed, "cannot freeze the source: \(error.message)")
      }
    }
    do {
      try await source.execute(Self.setup)
      for (service, table) in tables {
        let reason = try await source.quoteLiteral("\(table.description) moved to service \(service)")
        try await source.execute(
          """
          CREATE TRIGGER cleave_freeze BEFORE INSERT OR UPDATE OR DELETE ON \(table.quoted)
            FOR EACH STATEMENT EXECUTE FUNCTION _cleave_freeze.refuse(\(reason));
          CREATE TRIGGER cleave_freeze_truncate BEFORE TRUNCATE ON \(table.quoted)
            FOR EACH STATEMENT EXECUTE FUNCTION _cleave_freeze.refuse(\(reason));
          INSERT INTO _cleave_freeze.frozen (service, table_name, writes_at_freeze)
            SELECT \(try await source.quoteLiteral(service)), \(try await source.quoteLiteral(table.description)),
              coalesce((SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_all_tables
                        WHERE relid = \(try await source.quoteLiteral(table.quoted))::regclass), 0);
          """)
      }
      try await source.execute("COMMIT")
      // The WAL position once the freeze is committed: every write to these tables is before it.
      try await source.execute(
        "UPDATE _cleave_freeze.frozen SET wal_position = pg_current_wal_lsn()::text WHERE wal_position IS NULL")
    } catch {
      try? await source.execute("ROLLBACK")
      throw CleaveError(
        .freezeFailed, "cannot freeze the source: \(error)",
        hint: "freeze creates triggers: connect as the tables' owner or a superuser")
    }
    return try await records(on: source)
  }

  /// Lifts the freeze of the chosen services: drops their triggers and records, and the schema with the last.
  ///
  /// - Returns: the tables that were unfrozen.
  /// - Throws: `CleaveError` when the source refuses.
  @discardableResult
  public func unfreeze() async throws -> [String] {
    try await logger.step("unfreezing the source tables") { try await unfreezeNow() }
  }

  private func unfreezeNow() async throws -> [String] {
    let source = try await connect()
    defer { Task { await source.close() } }
    let frozen = try await records(on: source).filter { record in
      services.isEmpty || services.contains(record.service)
    }
    guard !frozen.isEmpty else { return [] }
    do {
      try await source.execute("BEGIN")
      for record in frozen {
        // The record's name is quoted where PostgreSQL needs it, so it reads back as SQL.
        try await source.execute(
          """
          DROP TRIGGER IF EXISTS cleave_freeze ON \(record.table);
          DROP TRIGGER IF EXISTS cleave_freeze_truncate ON \(record.table);
          DELETE FROM _cleave_freeze.frozen WHERE table_name = \(try await source.quoteLiteral(record.table));
          """)
      }
      if try await source.query("SELECT count(*) FROM _cleave_freeze.frozen").scalar == "0" {
        try await source.execute("DROP SCHEMA _cleave_freeze CASCADE")
      }
      try await source.execute("COMMIT")
    } catch {
      try? await source.execute("ROLLBACK")
      throw CleaveError(.freezeFailed, "cannot unfreeze the source: \(error)")
    }
    return frozen.map(\.table)
  }

  /// Every table frozen now, with its write counters then and now.
  ///
  /// - Throws: `CleaveError` when the source cannot be read.
  public func records() async throws -> [Record] {
    let source = try await connect()
    defer { Task { await source.close() } }
    return try await records(on: source)
  }

  private func records(on source: SerialConnection) async throws -> [Record] {
    guard try await source.query("SELECT to_regclass('_cleave_freeze.frozen') IS NOT NULL").scalar == "t" else {
      return []
    }
    let mark = try await source.query(
      "SELECT obj_description('_cleave_freeze'::regnamespace, 'pg_namespace')"
    ).scalar
    guard mark == Self.mark else {
      throw CleaveError(
        .freezeFailed, "the source has a schema _cleave_freeze that Cleave did not create",
        hint: "Cleave never touches what it did not create: rename or drop that schema")
    }
    return try await source.query(
      """
      SELECT f.service, f.table_name, to_char(f.frozen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS frozen_at,
        coalesce(f.wal_position, '') AS wal_position, f.writes_at_freeze,
        coalesce((SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_all_tables
                  WHERE relid = to_regclass(f.table_name)), 0) AS writes_now
      FROM _cleave_freeze.frozen f ORDER BY f.service, f.table_name
      """
    ).namedRows.map { row in
      Record(
        service: row.string("service"), table: row.string("table_name"), frozenAt: row.string("frozen_at"),
        walPosition: row.string("wal_position"), writesAtFreeze: row.int("writes_at_freeze"),
        writesNow: row.int("writes_now"))
    }
  }

  /// The transactions holding a write lock on `tables`: pid, user, application, since when, and their query.
  private func writers(of tables: [QualifiedName], on source: SerialConnection) async throws -> String {
    let rows = try await source.query(
      """
      SELECT DISTINCT a.pid, a.usename, a.application_name, a.xact_start::text AS since, left(a.query, 80) AS query
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.relation = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) AS x)
        AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock',
                       'AccessExclusiveLock')
        AND l.granted AND a.pid <> pg_backend_pid()
      ORDER BY a.pid
      """, [PostgresArray.literal(tables.map(\.quoted))]
    ).namedRows
    guard !rows.isEmpty else { return "(none left now; run freeze again)" }
    return rows.map { row in
      "pid \(row.string("pid")) (user \(row.string("usename")), application \"\(row.string("application_name"))\", "
        + "open since \(row.string("since")), last query: \(row.string("query")))"
    }.joined(separator: "; ")
  }

  /// The schema, the refusing function and the record table, created once, marked as Cleave's.
  static let setup = """
    CREATE SCHEMA IF NOT EXISTS _cleave_freeze;
    COMMENT ON SCHEMA _cleave_freeze IS 'cleave: freeze';
    CREATE OR REPLACE FUNCTION _cleave_freeze.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'cleave: writes to %.% are frozen: %', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'read_only_sql_transaction',
              HINT = 'this table now lives in its service''s database; write there (cleave unfreeze lifts this)';
    END $$;
    CREATE TABLE IF NOT EXISTS _cleave_freeze.frozen (
      service text NOT NULL,
      table_name text PRIMARY KEY,
      frozen_at timestamptz NOT NULL DEFAULT now(),
      wal_position text,
      writes_at_freeze bigint NOT NULL);
    """
}
