import Backup
import CleaveCore
import Foundation
import Freeze
import Plan
import PostgresDriver
import Provision

/// `cleave status`: per service the plan names now, what has been done (provisioned, copied, verified, frozen,
/// configured), when, and what is next, read from the targets and the source themselves.
///
/// Copied, verified and configured are the outcomes recorded in each service's database (`OutcomeStore`) under
/// the plan's current key: an outcome reached for another shape of the plan or another source does not count,
/// and a verify that failed says so.
public struct Status: Sendable, Codable {
  /// One service's state.
  public struct Service: Sendable, Codable {
    public var name: String
    public var database: String
    /// Whether the service database (or its schema in a shared one) exists with this plan's mark.
    public var provisioned: Bool
    /// Finished copy steps recorded in the service database's `_cleave.progress`.
    public var copySteps: Int
    public var copiedAt: String?
    public var verifiedAt: String?
    /// When the last verify under the current plan found differences, and its account of them.
    public var verifyFailedAt: String?
    public var verifyDetail: String?
    /// Frozen source tables, since when, and how many rows they took since (0 when the freeze holds).
    public var frozenTables: Int
    public var frozenAt: String?
    public var writesSinceFreeze: Int
    /// How the freeze of this service's tables is open (a disabled or dropped trigger, a new partition); empty
    /// when it holds or nothing is frozen.
    public var fenceProblems: [String] = []
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
  public static func read(plan: SplitPlan) async throws -> Status {
    let backup = await RunBackup.current(for: plan)
    let backupAt = backup.flatMap { try? BackupMaker.manifest(in: $0).createdAt }
    let fence = try await Freezer(plan: plan).fence()
    let frozen = fence.records
    var services: [Service] = []
    for service in plan.services {
      var entry = Service(
        name: service.name, database: service.database, provisioned: false, copySteps: 0, copiedAt: nil,
        verifiedAt: nil, frozenTables: 0, frozenAt: nil, writesSinceFreeze: 0, configuredAt: nil, next: "")
      if let admin = try? await SerialConnection.connect(service.server) {
        let comment = (try? await ObjectComment.database(service.database, on: admin)) ?? nil
        entry.provisioned =
          comment == Provenance.mark(service: service.name, identity: plan.identity)
          || (service.schema != nil && comment == Provenance.sharedDatabaseMark(identity: plan.identity))
        await admin.close()
      }
      if entry.provisioned {
        let outcomes = await OutcomeStore.read(service)
        let key = service.outcomeKey(plan.identity)
        if let copy = outcomes["copy"], copy.key == key {
          entry.copiedAt = copy.finishedAt
          if let verify = outcomes["verify"], verify.key == key, verify.finishedAt >= copy.finishedAt {
            if verify.passed { entry.verifiedAt = verify.finishedAt } else { entry.verifyFailedAt = verify.finishedAt }
            entry.verifyDetail = verify.detail
          }
        }
        if let config = outcomes["config"], config.key.hasPrefix(plan.identity.description + "\n") {
          entry.configuredAt = config.finishedAt
        }
        if let inside = try? await SerialConnection.connect(service.server.withDatabase(service.database)) {
          if let steps = try? await inside.query("SELECT count(*) FROM _cleave.progress").scalar {
            entry.copySteps = Int(steps) ?? 0
          }
          await inside.close()
        }
      }
      let mine = frozen.filter { $0.service == service.name }
      entry.frozenTables = mine.count
      entry.frozenAt = mine.map(\.frozenAt).min()
      entry.writesSinceFreeze = mine.reduce(0) { $0 + $1.writesNow - $1.writesAtFreeze }
      entry.fenceProblems = fence.problems.filter {
        $0.contains("(service \(service.name))") || (!mine.isEmpty && !$0.contains("(service "))
      }
      entry.next =
        !entry.fenceProblems.isEmpty
        ? "the freeze does not hold: run cleave freeze again to re-arm it"
        : !entry.provisioned
          ? "provision (cleave provision, or cleave run)"
          : entry.copiedAt == nil
            ? "copy (cleave copy, or cleave run)"
            : entry.verifyFailedAt != nil
              ? "fix what verify found (\(entry.verifyDetail ?? "differences")), then verify again (cleave verify)"
              : entry.verifiedAt == nil
                ? "verify (cleave verify, or cleave run)"
                : entry.configuredAt == nil
                  ? "config (cleave config --out DIR, or cleave run)"
                  : entry.frozenTables == 0
                    ? "freeze the source tables (cleave freeze), then point the service at its database"
                    : "point the service at its database (its settings are written); cleave rollback undoes the split"
      services.append(entry)
    }
    return Status(backupAt: backupAt, backupDirectory: backup, services: services)
  }
}
