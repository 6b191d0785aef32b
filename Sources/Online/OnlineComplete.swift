import CleaveCore
import Logging
import Plan
import PostgresDriver

/// `cleave online complete`: after a cutover, ends the online split of a service for good.
///
/// The reverse stream (its subscription on the source, its slot and publication on the service database), the
/// forward subscription and slot, the publication and the service's heartbeat and DDL rows on the source are
/// removed, and the journal says `completed`. The source's moved tables stay fenced (the freeze's triggers):
/// nothing writes them again, and `cleave freeze --undo` or a retire step is the way to change that.
///
/// Without the reverse stream a rollback can no longer bring the service database's writes back, so it asks (or
/// needs `--yes`). Each removal skips what is gone: a rerun after a kill finishes the job.
public struct OnlineComplete: Sendable {
  public var plan: SplitPlan
  public var service: String
  public var logger: Logger = .silent

  public init(plan: SplitPlan, service: String) {
    self.plan = plan
    self.service = service
  }

  /// What complete will remove, in order, changing nothing.
  ///
  /// - Throws: `CleaveError` (`onlineWrongState`) unless the service is cut over (or already completed).
  public func actions() async throws -> [String] {
    let servicePlan = try OnlineContext.servicePlan(service, in: plan)
    let names = OnlineNames(service: service, identity: plan.identity)
    let state = try await currentState(servicePlan)
    if state == .completed { return [] }
    return [
      "remove: subscription \(names.reverse) on the source (the reverse stream: rollback is no longer possible)",
      "remove: replication slot and publication \(names.reverse) on the service database",
      "remove: subscription \(names.forward) on the service database",
      "remove: replication slot \(names.forward) on the source",
      "remove: publication \(names.forward) and the service's heartbeat and DDL rows on the source",
      "keep: the fence on the source's moved tables",
    ]
  }

  private func currentState(_ service: ServicePlan) async throws -> OnlineState {
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(service.server.withDatabase(service.database)) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
    defer { Task { await admin.close() } }
    let entry = try await OnlineJournal.entry(of: service.name, on: admin)
    guard let state = entry?.state, state == .cutOver || state == .completed else {
      throw CleaveError(
        .onlineWrongState,
        "service \"\(service.name)\" is \(entry?.state.rawValue ?? "not started online"): complete ends the "
          + "online split of a cut-over service",
        hint: entry?.state == .streaming
          ? "cut over first (`cleave online cutover`), or cancel (`cleave online cancel`)"
          : "`cleave online status -f \(plan.file.path)` shows where it stands")
    }
    return state
  }

  /// Removes it all and records `completed`.
  ///
  /// - Returns: false when the service was already completed.
  /// - Throws: `CleaveError` naming the step that failed; running complete again continues.
  @discardableResult
  public func run() async throws -> Bool {
    let servicePlan = try OnlineContext.servicePlan(service, in: plan)
    let context = try await OnlineContext.open(
      service: servicePlan,
      target: servicePlan.server.withDatabase(
        servicePlan.database), plan: plan)
    defer { Task { await context.close() } }
    let entry = try await OnlineJournal.entry(of: service, on: context.admin)
    if entry?.state == .completed { return false }
    guard entry?.state == .cutOver else {
      throw CleaveError(
        .onlineWrongState,
        "service \"\(service)\" is \(entry?.state.rawValue ?? "not started online"), not cut over",
        hint: "complete ends the online split of a cut-over service")
    }
    let names = context.names
    try await logger.step("online complete: reverse stream \(names.reverse)") {
      try await ReverseStream(context: context, identity: plan.identity).drop()
    }
    try await logger.step("online complete: subscription \(names.forward)") {
      try await OnlineSubscription.drop(names.forward, on: context.admin)
    }
    try await logger.step("online complete: slot \(names.forward)") {
      try await OnlineSlot.drop(names.forward, service: service, on: context.source)
    }
    try await logger.step("online complete: publication \(names.forward)") {
      try await OnlinePublication(service: servicePlan, identity: plan.identity).unpublish(on: context.source)
    }
    try await context.admin.execute(
      "BEGIN; "
        + (try await OnlineJournal.record(
          .completed, service: service, identity: plan.identity, fencePoint: entry?.fencePoint,
          detail: "reverse stream and slots removed; the source stays fenced", on: context.admin)) + " COMMIT")
    return true
  }
}
