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

  /// Freezes the chosen services' tables, and re-arms an earlier freeze: a disabled or dropped trigger is put
  /// back, a partition made since is frozen, and the DDL guard is created or enabled when the role is a superuser.
  ///
  /// - Parameter wait: how long to wait for transactions that have written to the tables to end.
  /// - Returns: the fence as it is afterwards, with what this run repaired in `rearmed`.
  /// - Throws: `CleaveError` (`freezeBlocked`) naming the transactions still open after `wait`, or
  ///   (`freezeFailed`) when the source refuses (the role needs to own the tables, or be a superuser).
  public func freeze(wait: Duration) async throws -> Fence {
    try await logger.step("freezing the moved source tables") { try await freezeNow(wait: wait) }
  }

  /// One table the freeze will guard: a new one, or one whose guard was opened.
  private struct Work {
    var service: String
    var table: String
    var rearm: [String] = []
    var why = ""
  }

  private func freezeNow(wait: Duration) async throws -> Fence {
    let source = try await connect()
    defer { Task { await source.close() } }
    let chosenNames = Set(chosen.map(\.name))
    let recorded = try await records(on: source)
    let already = Set(recorded.map(\.table))
    var work: [Work] = []
    for service in chosen {
      for table in service.tables where !already.contains(table.description) {
        work.append(Work(service: service.name, table: table.description))
      }
    }
    if !recorded.isEmpty {
      var rearm: [String: Work] = [:]
      for breach in try await Fence.breaches(on: source) where chosenNames.contains(breach.service) {
        guard !breach.trigger.isEmpty else { continue }  // a table that is gone cannot be re-armed
        rearm[breach.table, default: Work(service: breach.service, table: breach.table)].rearm.append(breach.trigger)
        rearm[breach.table]?.why = "trigger " + (breach.missing ? "dropped" : "disabled")
      }
      work += rearm.keys.sorted().compactMap { rearm[$0] }
      let planned = Set(work.map(\.table))
      for partition in try await Fence.newPartitions(on: source)
      where chosenNames.contains(partition.service) && !planned.contains(partition.table) {
        work.append(Work(service: partition.service, table: partition.table, why: "partition of \(partition.parent)"))
      }
    }
    let superuser = try await DDLGuard.mayInstall(on: source)
    let guardState = try await DDLGuard.state(on: source)
    let guardNeeded = superuser && guardState != .enabled
    guard !work.isEmpty || guardNeeded else { return try await fence(on: source) }
    try await lock(work, on: source, wait: wait)
    var rearmed: [String] = []
    do {
      try await source.execute(Self.setup)
      if superuser { try await DDLGuard.suspend(on: source) }
      for item in work {
        let reason = try await source.quoteLiteral("\(item.table) moved to service \(item.service)")
        if !item.rearm.isEmpty {
          for trigger in item.rearm {
            try await source.execute(
              """
              DROP TRIGGER IF EXISTS \(trigger) ON \(item.table);
              CREATE TRIGGER \(trigger) BEFORE \(trigger == "cleave_freeze" ? "INSERT OR UPDATE OR DELETE" : "TRUNCATE")
                ON \(item.table) FOR EACH STATEMENT EXECUTE FUNCTION _cleave_freeze.refuse(\(reason));
              """)
          }
          rearmed.append("\(item.table): \(item.why), re-armed")
          continue
        }
        try await source.execute(
          """
          CREATE TRIGGER cleave_freeze BEFORE INSERT OR UPDATE OR DELETE ON \(item.table)
            FOR EACH STATEMENT EXECUTE FUNCTION _cleave_freeze.refuse(\(reason));
          CREATE TRIGGER cleave_freeze_truncate BEFORE TRUNCATE ON \(item.table)
            FOR EACH STATEMENT EXECUTE FUNCTION _cleave_freeze.refuse(\(reason));
          INSERT INTO _cleave_freeze.frozen (service, table_name, writes_at_freeze)
            SELECT \(try await source.quoteLiteral(item.service)),
              \(try await source.quoteLiteral(item.table)),
              coalesce((SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_all_tables
                        WHERE relid = \(try await source.quoteLiteral(item.table))::regclass), 0);
          """)
        if !item.why.isEmpty { rearmed.append("\(item.table): \(item.why), frozen") }
      }
      if superuser {
        try await DDLGuard.install(on: source)
        if guardState == .disabled { rearmed.append("the DDL guard was disabled, enabled again") }
      }
      try await source.execute("COMMIT")
      // The WAL position once the freeze is committed: every write to these tables is before it.
      try await source.execute(
        "UPDATE _cleave_freeze.frozen SET wal_position = pg_current_wal_lsn()::text WHERE wal_position IS NULL")
    } catch {
      try? await source.execute("ROLLBACK")
      throw CleaveError(
        .freezeFailed, "cannot freeze the source",
        hint: "freeze creates triggers: connect as the tables' owner or a superuser", cause: error)
    }
    var fence = try await fence(on: source)
    fence.rearmed = rearmed
    return fence
  }

  /// Opens a transaction holding `SHARE ROW EXCLUSIVE` on every table of `work`: it waits for each transaction
  /// that wrote to them to end, retrying a second at a time until `wait`, then names those still open.
  private func lock(_ work: [Work], on source: SerialConnection, wait: Duration) async throws {
    guard !work.isEmpty else {
      try await source.execute("BEGIN")
      return
    }
    let names = work.map(\.table).joined(separator: ", ")
    let clock = ContinuousClock()
    let deadline = clock.now + wait
    while true {
      do {
        try await source.execute(
          "BEGIN; SET LOCAL lock_timeout = '1s'; LOCK TABLE \(names) IN SHARE ROW EXCLUSIVE MODE")
        return
      } catch let error where error.sqlState == "55P03" {  // lock_not_available
        try? await source.execute("ROLLBACK")
        if clock.now >= deadline {
          throw CleaveError(
            .freezeBlocked,
            "cannot freeze: transactions that wrote to the moved tables are still open: "
              + (try await writers(of: work.map(\.table), on: source)),
            hint: "let them finish (or end them with pg_terminate_backend, or COMMIT PREPARED / ROLLBACK "
              + "PREPARED a prepared one), then run freeze again; --wait gives them longer")
        }
      } catch {
        try? await source.execute("ROLLBACK")
        throw CleaveError(.freezeFailed, "cannot freeze the source: \(error.message)")
      }
    }
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
    let guarded = try await DDLGuard.state(on: source) != .absent
    do {
      try await source.execute("BEGIN")
      // The guard refuses dropping freeze triggers: it is off for this transaction, and stays only for what
      // remains frozen.
      if guarded { try await DDLGuard.suspend(on: source) }
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
        if guarded { try await DDLGuard.remove(on: source) }
        try await source.execute("DROP SCHEMA _cleave_freeze CASCADE")
      } else if guarded {
        try await DDLGuard.install(on: source)
      }
      try await source.execute("COMMIT")
    } catch {
      try? await source.execute("ROLLBACK")
      throw CleaveError(
        .freezeFailed, "cannot unfreeze the source",
        hint: guarded
          ? "the freeze's DDL guard (event triggers) was made by a superuser: unfreeze as a superuser" : nil,
        cause: error)
    }
    return frozen.map(\.table)
  }

  /// The fence now: every frozen table, and every breach (a disabled or dropped trigger, a partition made since,
  /// a disabled DDL guard).
  ///
  /// - Throws: `CleaveError` when the source cannot be read.
  public func fence() async throws -> Fence {
    let source = try await connect()
    defer { Task { await source.close() } }
    return try await fence(on: source)
  }

  private func fence(on source: SerialConnection) async throws -> Fence {
    let recorded = try await records(on: source)
    guard !recorded.isEmpty else { return Fence(records: [], problems: [], guardsDDL: false) }
    let guardState = try await DDLGuard.state(on: source)
    let problems = Fence.problems(
      breaches: try await Fence.breaches(on: source), partitions: try await Fence.newPartitions(on: source),
      guardState: guardState)
    return Fence(records: recorded, problems: problems, guardsDDL: guardState == .enabled)
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

  /// The transactions holding a write lock on `tables`: pid, user, application, since when, and their query; and
  /// prepared transactions (two-phase commit), which hold their locks with no session at all until someone runs
  /// `COMMIT PREPARED` or `ROLLBACK PREPARED`.
  private func writers(of tables: [String], on source: SerialConnection) async throws -> String {
    let locks = """
      SELECT l.pid, l.virtualtransaction FROM pg_locks l
      WHERE l.relation = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) AS x)
        AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock',
                       'AccessExclusiveLock')
        AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid()
      """
    let sessions = try await source.query(
      """
      SELECT DISTINCT a.pid, a.usename, a.application_name, a.xact_start::text AS since, left(a.query, 80) AS query
      FROM (\(locks)) l JOIN pg_stat_activity a ON a.pid = l.pid
      ORDER BY a.pid
      """, [PostgresArray.literal(tables)]
    ).namedRows.map { row in
      "pid \(row.string("pid")) (user \(row.string("usename")), application \"\(row.string("application_name"))\", "
        + "open since \(row.string("since")), last query: \(row.string("query")))"
    }
    let prepared = try await source.query(
      """
      SELECT DISTINCT p.gid, p.owner, p.prepared::text AS since
      FROM (\(locks)) l
      JOIN pg_locks x ON x.locktype = 'transactionid' AND x.pid IS NULL AND x.virtualtransaction = l.virtualtransaction
      JOIN pg_prepared_xacts p ON p.transaction = x.transactionid
      WHERE l.pid IS NULL
      ORDER BY p.gid
      """, [PostgresArray.literal(tables)]
    ).namedRows.map { row in
      "prepared transaction '\(row.string("gid"))' (owner \(row.string("owner")), prepared at \(row.string("since")); "
        + "it holds its locks until COMMIT PREPARED or ROLLBACK PREPARED)"
    }
    let all = sessions + prepared
    return all.isEmpty ? "(none left now; run freeze again)" : all.joined(separator: "; ")
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
