import CleaveCore
import Foundation
import Freeze
import Plan
import PostgresDriver
import Provision

/// `cleave status`: per service, what has been done (provisioned, copied, verified, frozen, configured), when,
/// and what is next, read from the targets and the source themselves and from `RunState`.
public struct Status: Sendable, Codable {
  /// One service's state.
  public struct Service: Sendable, Codable {
    public var name: String
    public var database: String
    /// Whether the service database (or its schema in a shared one) exists with Cleave's mark.
    public var provisioned: Bool
    /// Finished copy steps recorded in the service database's `_cleave.progress`, and when the last one finished.
    public var copySteps: Int
    public var copiedAt: String?
    public var verifiedAt: String?
    /// Frozen source tables, since when, and how many rows they took since (0 when the freeze holds).
    public var frozenTables: Int
    public var frozenAt: String?
    public var writesSinceFreeze: Int
    public var configuredAt: String?
    public var next: String
  }

  public var backupAt: String?
  public var backupDirectory: String?
  public var services: [Service]

  /// Reads every service's state.
  ///
  /// - Throws: `CleaveError` when the source cannot be read (targets that cannot be reached count as not
  ///   provisioned).
  public static func read(plan: SplitPlan, planPath: String) async throws -> Status {
    let state = try RunState.load(RunState.path(forPlan: planPath))
    let frozen = try await Freezer(plan: plan).records()
    var services: [Service] = []
    for service in plan.services {
      var entry = Service(
        name: service.name, database: service.database, provisioned: false, copySteps: 0, copiedAt: nil,
        verifiedAt: state.steps["verify"]?.finishedAt, frozenTables: 0, frozenAt: nil, writesSinceFreeze: 0,
        configuredAt: state.steps["config"]?.finishedAt, next: "")
      let server = ConnInfo(plan.file.target(service.target)?.endpoint.url ?? "")
      if let admin = try? await SerialConnection.connect(server) {
        let comment = try? await admin.query(
          "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", [service.database]
        ).scalar
        entry.provisioned =
          comment == Provenance.mark(service: service.name, identity: plan.identity)
          || comment == Provenance.sharedDatabaseMark(identity: plan.identity)
        await admin.close()
      }
      if entry.provisioned, let inside = try? await SerialConnection.connect(server.withDatabase(service.database)) {
        if let row = try? await inside.query(
          """
          SELECT count(*) AS steps, to_char(max(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at
          FROM _cleave.progress
          """
        ).namedRows.first {
          entry.copySteps = row.int("steps")
          entry.copiedAt = state.steps["copy"] != nil ? row["at"] : nil
        }
        await inside.close()
      }
      let mine = frozen.filter { $0.service == service.name }
      entry.frozenTables = mine.count
      entry.frozenAt = mine.map(\.frozenAt).min()
      entry.writesSinceFreeze = mine.reduce(0) { $0 + $1.writesNow - $1.writesAtFreeze }
      entry.next =
        state.steps["backup"] == nil
        ? "backup (cleave backup, or cleave run)"
        : !entry.provisioned
          ? "provision (cleave provision, or cleave run)"
          : entry.copiedAt == nil
            ? "copy (cleave copy, or cleave run)"
            : entry.verifiedAt == nil
              ? "verify (cleave verify, or cleave run)"
              : entry.configuredAt == nil
                ? "config (cleave config, or cleave run)"
                : entry.frozenTables == 0
                  ? "freeze the source tables (cleave freeze), then point the service at its database"
                  : "point the service at its database (its settings are written); cleave rollback undoes the split"
      services.append(entry)
    }
    return Status(
      backupAt: state.steps["backup"]?.finishedAt, backupDirectory: state.steps["backup"]?.detail, services: services)
  }
}
