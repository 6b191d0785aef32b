import Catalog
import CleaveCore
import Copy
import Foundation
import Logging
import Plan
import PostgresDriver
import Provision

/// `cleave online start`: one service from nothing to streaming, resumable after a kill at any step.
///
/// In order: `online check` (any refusal stops it before anything exists); the service's database and roles
/// (as `provision`); the journal entry `seeding`; on the source, the heartbeat row and the publication, then the
/// slot, created on a replication connection that exports its snapshot; the seed, copied by Cleave's copier
/// inside that snapshot (parallel, in key ranges, as `cleave copy`); last, in one transaction on the service's
/// database, the subscription (on that slot, `copy_data = false`), its replication origin advanced to the slot's
/// consistent point, and the journal entry `streaming`.
///
/// A rerun after a kill finds the journal: `streaming` or later means there is nothing to do; `seeding` means the
/// seed's snapshot died with the killed run, so its slot is dropped and the seed is copied again from a new one
/// (never resumed across two snapshots, which would mix two instants of the source).
public struct OnlineStart: Sendable {
  public var plan: SplitPlan
  public var service: String
  public var secretsPath: String
  public var jobs: Int
  public var workDirectory: String
  public var splitBytes: Int64 = 256 << 20
  public var reporter: any CopyProgress
  public var logger: Logger = .silent

  public init(
    plan: SplitPlan, service: String, secretsPath: String, jobs: Int, workDirectory: String,
    reporter: any CopyProgress
  ) {
    self.plan = plan
    self.service = service
    self.secretsPath = secretsPath
    self.jobs = jobs
    self.workDirectory = workDirectory
    self.reporter = reporter
  }

  /// What a start did.
  public struct Result: Sendable, Codable {
    public var service: String
    public var state: OnlineState
    /// The publication, slot and subscription's name.
    public var name: String
    /// Where the seed and the stream meet.
    public var consistentPoint: String?
    /// The seed, when this run copied one; nil when the service was already streaming.
    public var seed: CopySummary?
    /// What this run found and dealt with first (a slot a killed start left).
    public var notes: [String]
  }

  /// Brings the service to `streaming`.
  ///
  /// - Throws: `CleaveError`: `onlineRefused` with every reason `online check` gives, `onlineBusy` when another
  ///   online command of the service runs, `onlineFailed` when a step fails (run the same command again).
  public func run() async throws -> Result {
    let servicePlan = try OnlineContext.servicePlan(service, in: plan)
    let refusals = try await OnlineCheck(plan: plan, services: [service]).run().filter(\.refusal)
    guard refusals.isEmpty else {
      throw CleaveError(
        .onlineRefused,
        "service \"\(service)\" cannot be streamed as planned: "
          + refusals.map { ($0.table.map { "\($0): " } ?? "") + $0.message }.joined(separator: "; "),
        hint: "`cleave online check -f \(plan.file.path) --service \(service)` lists each with a hint")
    }
    var chosen = plan
    chosen.services = [servicePlan]
    var provisioner = Provisioner(plan: chosen, secretsPath: secretsPath)
    provisioner.logger = logger
    guard let provisioned = try await provisioner.provisionAll().first else {
      throw CleaveError(.onlineFailed, "service \"\(service)\" was not provisioned")
    }
    let context = try await OnlineContext.open(service: servicePlan, target: provisioned.database, plan: plan)
    defer { Task { await context.close() } }
    let names = context.names
    var notes: [String] = []
    let entry = try await OnlineJournal.entry(of: service, on: context.admin)
    if let entry, entry.state != .seeding, entry.state != .cancelled {
      return Result(
        service: service, state: entry.state, name: names.forward, consistentPoint: entry.consistentPoint,
        seed: nil, notes: ["already \(entry.state.rawValue): nothing to start"])
    }
    let slotExists =
      try await context.source.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [names.forward])
      .rows.count > 0
    if entry?.state == .seeding {
      // A killed start: its snapshot is gone, and with it any way to finish that seed.
      try await OnlineSubscription.drop(names.forward, on: context.admin)
      if slotExists {
        try await OnlineSlot.drop(names.forward, service: service, on: context.source)
        notes.append("dropped the slot \(names.forward) an interrupted start left; the seed is copied again")
      }
    } else if slotExists {
      throw CleaveError(
        .onlineRefused,
        "the source already has a replication slot \(names.forward), which this service's journal does not know",
        hint: "the service's database was replaced after a start; `cleave online cancel -f \(plan.file.path) "
          + "--service \(service)` removes the slot, then start again")
    }
    let catalog = try await CatalogReader(connection: context.source).read()
    let publication = OnlinePublication(service: servicePlan, identity: plan.identity)
    try await logger.step("online start: publication \(names.forward)") {
      try await publication.publish(catalog: catalog, on: context.source)
      try await context.admin.execute(
        "BEGIN; \(OnlineJournal.create)\n"
          + (try await OnlineJournal.record(
            .seeding, service: service, identity: plan.identity, detail: "publication \(names.forward)",
            on: context.admin)) + "\nCOMMIT")
    }
    let slot = try await logger.step("online start: slot \(names.forward)") {
      try await OnlineSlot.create(names.forward, service: service, source: plan.source)
    }
    let seed: CopySummary
    do {
      await reporter.say("\(service): seeding from slot \(names.forward) at \(slot.consistentPoint)")
      var copier = Copier(
        plan: plan, provisioned: [provisioned], jobs: jobs, workDirectory: workDirectory, splitBytes: splitBytes,
        reporter: reporter, snapshot: slot.snapshot)
      copier.recopy = [service]
      copier.only = [service]
      copier.logger = logger
      seed = try await copier.run()
    } catch {
      await slot.close()
      throw error
    }
    await slot.close()
    try await logger.step("online start: subscription \(names.forward)") {
      try await OnlineSubscription.create(
        names.forward, slot: names.forward, point: slot.consistentPoint, source: context.sourceForServer,
        service: service, identity: plan.identity, on: context.admin)
    }
    return Result(
      service: service, state: .streaming, name: names.forward, consistentPoint: slot.consistentPoint, seed: seed,
      notes: notes)
  }
}
