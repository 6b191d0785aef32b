import CleaveCore
import Foundation
import PostgresDriver

/// What the freeze is now, read from the source's catalog: the frozen tables, and every way the fence around
/// them is open.
///
/// A table's owner can `ALTER TABLE … DISABLE TRIGGER` or `DROP TRIGGER`, and create a partition that no
/// trigger guards; a superuser can disable the DDL guard. None of that is hidden by a record saying "frozen":
/// each is a `problem`, which `freeze` re-arms and `status` and `verify` report.
public struct Fence: Sendable, Codable, Equatable {
  /// Every frozen table, with its write counters then and now.
  public var records: [Freezer.Record]
  /// Each breach, one sentence each (`public.orders: trigger cleave_freeze is disabled`); empty when it holds.
  public var problems: [String]
  /// Whether DDL on frozen tables is refused by Cleave's event triggers (only a superuser can create them).
  public var guardsDDL: Bool
  /// What this run of `freeze` repaired or added to an earlier freeze.
  public var rearmed: [String] = []

  /// Whether every frozen table is guarded as the freeze left it.
  public var holds: Bool { problems.isEmpty }

  /// One table's trigger that is not as the freeze made it.
  struct Breach: Sendable, Equatable {
    var service: String
    var table: String
    /// `cleave_freeze` or `cleave_freeze_truncate`; empty when the table itself is gone.
    var trigger: String
    var missing: Bool
  }

  /// A partition of a frozen table that no record covers (created or attached after the freeze).
  struct NewPartition: Sendable, Equatable {
    var service: String
    var table: String
    var parent: String
  }

  /// The triggers of frozen tables that are missing, disabled or set to fire only for replication.
  static func breaches(on source: SerialConnection) async throws -> [Breach] {
    try await source.query(
      """
      SELECT f.service, f.table_name, trig.name, to_regclass(f.table_name) IS NULL AS gone,
        (SELECT t.tgenabled::text FROM pg_trigger t
         WHERE t.tgrelid = to_regclass(f.table_name) AND t.tgname = trig.name) AS enabled
      FROM _cleave_freeze.frozen f
      CROSS JOIN (VALUES ('cleave_freeze'), ('cleave_freeze_truncate')) AS trig(name)
      ORDER BY f.service, f.table_name, trig.name
      """
    ).namedRows.compactMap { row in
      let enabled = row.string("enabled")
      if row.bool("gone") {
        return trigger(row) == "cleave_freeze"
          ? Breach(service: row.string("service"), table: row.string("table_name"), trigger: "", missing: true) : nil
      }
      guard enabled != "O" && enabled != "A" else { return nil }  // fires for ordinary sessions
      return Breach(
        service: row.string("service"), table: row.string("table_name"), trigger: trigger(row), missing: enabled.isEmpty
      )
    }
  }

  private static func trigger(_ row: Row) -> String { row.string("name") }

  /// Partitions (at any depth) of frozen tables that are not frozen themselves.
  static func newPartitions(on source: SerialConnection) async throws -> [NewPartition] {
    try await source.query(
      """
      SELECT DISTINCT f.service, format('%I.%I', n.nspname, c.relname) AS partition, f.table_name AS parent
      FROM _cleave_freeze.frozen f
      CROSS JOIN LATERAL pg_partition_tree(to_regclass(f.table_name)) p
      JOIN pg_class c ON c.oid = p.relid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE p.relid <> to_regclass(f.table_name) AND c.relkind IN ('r', 'p', 'f')
        AND NOT EXISTS (SELECT 1 FROM _cleave_freeze.frozen g WHERE to_regclass(g.table_name) = p.relid)
      ORDER BY 2
      """
    ).namedRows.map { row in
      NewPartition(service: row.string("service"), table: row.string("partition"), parent: row.string("parent"))
    }
  }

  /// The sentences for what is open.
  static func problems(breaches: [Breach], partitions: [NewPartition], guardState: DDLGuard.State) -> [String] {
    var problems = breaches.map { breach in
      breach.trigger.isEmpty
        ? "\(breach.table) (service \(breach.service)): the table no longer exists"
        : "\(breach.table) (service \(breach.service)): trigger \(breach.trigger) is "
          + (breach.missing ? "missing (dropped)" : "disabled") + ", so writes to it are not refused"
    }
    problems += partitions.map { partition in
      "\(partition.table) (service \(partition.service)): a partition of frozen \(partition.parent) made or "
        + "attached after the freeze, not frozen"
    }
    if guardState == .disabled {
      problems.append("the event triggers that refuse DDL on frozen tables are disabled")
    }
    return problems
  }
}
