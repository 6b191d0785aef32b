import CleaveCore
import Logging
import Plan
import PostgresDriver
import Provision
import Rollback

/// `cleave online cancel`: before a cutover, removes everything the online split made for a service: the
/// subscription, the slot, the publication and the heartbeat row, then the copy itself (its database, roles and
/// secrets, as `cleave rollback` removes them, only what carries this plan's mark).
///
/// It is refused once the service is cut over (the service database then holds the application's writes: roll
/// back first). Each step finds what is left, so a rerun after a kill finishes the job.
public struct OnlineCancel: Sendable {
  public var plan: SplitPlan
  public var service: String
  public var secretsPath: String
  public var logger: Logger = .silent

  public init(plan: SplitPlan, service: String, secretsPath: String) {
    self.plan = plan
    self.service = service
    self.secretsPath = secretsPath
  }

  /// What cancel will remove, in order, changing nothing.
  ///
  /// - Throws: `CleaveError` (`onlineWrongState`) once the service is cut over.
  public func actions() async throws -> [String] {
    let servicePlan = try OnlineContext.servicePlan(service, in: plan)
    let names = OnlineNames(service: service, identity: plan.identity)
    try await refuseIfCutOver(servicePlan)
    var actions = [
      "remove: subscription \(names.forward) on the service database",
      "remove: replication slot \(names.forward) on the source",
      "remove: publication \(names.forward) and the service's heartbeat row on the source",
    ]
    let rollback = try await Rollback(plan: plan, services: [service], secretsPath: secretsPath).plan()
    actions += rollback.actions.map(\.description)
    return actions
  }

  private func refuseIfCutOver(_ service: ServicePlan) async throws {
    guard let admin = try? await SerialConnection.connect(service.server.withDatabase(service.database)) else {
      return
    }
    defer { Task { await admin.close() } }
    guard let entry = try await OnlineJournal.entry(of: service.name, on: admin) else { return }
    if [.cuttingOver, .cutOver, .rollingBack, .completed].contains(entry.state) {
      throw CleaveError(
        .onlineWrongState,
        "service \"\(service.name)\" is \(entry.state.rawValue): its database may hold the application's writes, "
          + "so cancel would lose them",
        hint: "roll back first (`cleave online rollback -f \(plan.file.path) --service \(service.name)`)")
    }
  }

  /// Removes it all.
  ///
  /// - Throws: `CleaveError` naming the step that failed; running cancel again continues.
  public func run() async throws {
    let servicePlan = try OnlineContext.servicePlan(service, in: plan)
    try await refuseIfCutOver(servicePlan)
    let names = OnlineNames(service: service, identity: plan.identity)
    let source: SerialConnection
    do { source = try await SerialConnection.connect(plan.source) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await source.close() } }
    if let admin = try? await SerialConnection.connect(servicePlan.server.withDatabase(servicePlan.database)) {
      try await logger.step("online cancel: subscription \(names.forward)") {
        try await OnlineSubscription.drop(names.forward, on: admin)
      }
      await admin.close()
    }
    try await logger.step("online cancel: slot \(names.forward)") {
      try await OnlineSlot.drop(names.forward, service: service, on: source)
    }
    try await logger.step("online cancel: publication \(names.forward)") {
      try await OnlinePublication(service: servicePlan, identity: plan.identity).unpublish(on: source)
    }
    let rollback = Rollback(plan: plan, services: [service], secretsPath: secretsPath)
    let actions = try await rollback.plan()
    if !actions.actions.isEmpty { try await rollback.run(actions) }
  }
}
