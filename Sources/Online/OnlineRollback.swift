import Catalog
import CleaveCore
import Foundation
import Freeze
import Logging
import Plan
import PostgresDriver
import Verify

/// `cleave online rollback`: after a cutover, moves the application back to the source with the same bounded
/// freeze, over the reverse stream, so the writes made on the service database since the cutover are kept.
///
/// Gate: the reverse stream runs and lags under a second for `steady`, no transaction has been writing on the
/// service database for more than 5 s, the switch works. Then, within `maxFreeze`: pause; fence the service
/// database's tables (`TargetFence`); a heartbeat there, waited for on the source; the reverse subscription
/// disabled and its worker gone; the sequences set on the source from the service database; the forward slot made
/// again (its consistent point after everything the reverse stream wrote, so the forward stream does not send it
/// back) and the forward subscription pointed at it; snapshots of both sides; the forward stream enabled; the source's
/// fence lifted; the entry's old line put back, `RELOAD`, `RESUME`. After the resume, the fence on the service
/// database and the reverse stream are removed and every table is compared as of the switch. Past `maxFreeze`
/// before the switch, or on an error, it is undone (the application stays on the service database) and exits
/// with CLVB005.
public struct OnlineRollback: Sendable {
  public var plan: SplitPlan
  public var service: String
  public var maxFreeze: Duration = .seconds(5)
  public var steady: Duration = .seconds(30)
  public var logger: Logger = .silent

  public init(plan: SplitPlan, service: String) {
    self.plan = plan
    self.service = service
  }

  /// - Throws: `CleaveError`: `onlineWrongState` unless cut over, `onlineRefused` when the gate does not pass,
  ///   `cutoverAborted` when it was undone.
  public func run() async throws -> CutoverReport {
    let (context, switcher) = try await OnlineContext.forSwitch(service, plan: plan)
    defer { Task { await context.close() } }
    let servicePlan = context.service
    let method = switcher.method
    let target = context.target
    let catalog = try await CatalogReader(connection: context.source).read()
    let fenced = TargetFence.tables(servicePlan, catalog: catalog)
    var report = CutoverReport(
      service: service, state: .cutOver, dryRun: false, sequences: 0, timeline: [], tables: [], notes: [])
    guard let entry = try await OnlineJournal.entry(of: service, on: context.admin) else {
      throw CleaveError(.onlineWrongState, "service \"\(service)\" was never started online")
    }
    let url = OnlineCutover.url(of: plan.source)
    switch entry.state {
    case .cutOver: break
    case .rollingBack:
      try await undo(context: context, switcher: switcher, fenced: fenced, entry: entry)
      report.notes.append("a rollback interrupted earlier was undone first; rolling back afresh")
    case .streaming:
      // Nothing to roll back; a rollback killed after its switch left the resume and the clean-up to do.
      try await switcher.run(.resume, url: url)
      try await TargetFence.lift(on: fenced, admin: context.admin)
      try await ReverseStream(context: context, identity: plan.identity).drop()
      report.state = .streaming
      report.notes.append("not cut over (streaming): nothing to roll back; its connections are resumed")
      return report
    default:
      throw CleaveError(
        .onlineWrongState, "service \"\(service)\" is \(entry.state.rawValue): only a cut-over service rolls back")
    }
    let oldLine = entry.detail
    if case .pgbouncer = method, oldLine == nil {
      throw CleaveError(
        .onlineFailed, "the journal has lost the PgBouncer entry's line from before the cutover",
        hint: "put the line back by hand, RELOAD PgBouncer, then `cleave online cancel`")
    }
    try await gate(context: context, switcher: switcher, report: &report)
    try await context.admin.execute(
      "BEGIN; "
        + (try await OnlineJournal.record(
          .rollingBack, service: service, identity: plan.identity, fencePoint: entry.fencePoint, detail: oldLine,
          on: context.admin)) + " COMMIT")
    let clock = ContinuousClock()
    let began = clock.now
    func mark(_ step: String) {
      let at = Int((clock.now - began).inSeconds * 1000)
      report.timeline.append(.init(step: step, atMilliseconds: at))
      logger.info("online rollback: \(step) at \(at) ms")
    }
    func remaining() -> Duration { max(maxFreeze - (clock.now - began), .milliseconds(1)) }
    let sourceView = try await SerialConnection.connect(plan.source)
    let targetView = try await SerialConnection.connect(target)
    defer {
      Task {
        await sourceView.close()
        await targetView.close()
      }
    }
    do {
      try await switcher.run(.pause, url: url)
      mark("paused")
      try await TargetFence.put(on: fenced, admin: context.admin, wait: remaining())
      mark("fenced")
      guard let beat = try await Heartbeat.beat(service, on: context.admin),
        try await Heartbeat.wait(
          for: beat, of: service, on: context.source, timeout: remaining(), every: .milliseconds(2)) != nil
      else {
        throw CleaveError(
          .cutoverAborted, "the source did not apply the service database's last changes within --max-freeze",
          hint: "the reverse stream lags; roll back when `cleave online status` shows it caught up")
      }
      mark("applied")
      let names = context.names
      try await context.source.execute("ALTER SUBSCRIPTION \(names.reverse) DISABLE")
      try await OnlineSubscription.waitForWorker(names.reverse, on: context.source, before: began + maxFreeze)
      report.sequences = try await SequenceSync.copy(from: context.admin, to: context.source, service: context.admin)
      mark("sequences")
      // What the reverse stream wrote to the source must not come back over the forward stream: the forward
      // slot is made again now, its consistent point after all of it (the application is paused, the source's
      // moved tables fenced), and the subscription pointed at it.
      try await context.admin.execute("ALTER SUBSCRIPTION \(names.forward) SET (slot_name = NONE)")
      try await OnlineSlot.drop(names.forward, service: service, on: context.source)
      report.fencePoint = try await OnlineSlot.make(names.forward, on: context.source, within: remaining())
      try await context.admin.execute(
        "ALTER SUBSCRIPTION \(names.forward) SET (slot_name = \(try await context.admin.quoteLiteral(names.forward)))")
      try await sourceView.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
      try await targetView.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
      try await context.admin.execute("ALTER SUBSCRIPTION \(names.forward) ENABLE")
      _ = try await Freezer(plan: plan, services: [service]).unfreeze()
      mark("forward stream")
      guard clock.now - began < maxFreeze else {
        throw CleaveError(
          .cutoverAborted, "the rollback reached --max-freeze (\(maxFreeze.inSeconds) s) before the switch",
          hint: "nothing changed for the application; raise --max-freeze or roll back when it is quieter")
      }
      if case .pgbouncer(let pgbouncer) = method, let oldLine { try ApplicationSwitch.rewrite(pgbouncer, to: oldLine) }
      try await switcher.run(.switch, url: url)
      try await context.admin.execute(
        "BEGIN; "
          + (try await OnlineJournal.record(
            .streaming, service: service, identity: plan.identity, detail: "rolled back at \(report.fencePoint ?? "")",
            on: context.admin)) + " COMMIT")
      mark("switched")
      try await switcher.run(.resume, url: url)
      mark("resumed")
    } catch {
      let reason = (error as? CleaveError)?.message ?? "\(error)"
      var undone = entry
      undone.detail = oldLine
      try await undo(context: context, switcher: switcher, fenced: fenced, entry: undone)
      if let error = error as? CleaveError, error.code == .cutoverAborted { throw error }
      throw CleaveError(
        .cutoverAborted, "the rollback of \"\(service)\" failed and was undone: \(reason)",
        hint: "the application stays on the service database; fix the cause and roll back again", cause: error)
    }
    report.freezeMilliseconds = report.timeline.last?.atMilliseconds
    report.state = .streaming
    try await TargetFence.lift(on: fenced, admin: context.admin)
    try await ReverseStream(context: context, identity: plan.identity).drop()
    report.tables = try await CutoverReport.TableCheck.all(
      of: servicePlan, catalog: catalog, source: sourceView, target: targetView)
    return report
  }

  /// The gate: the reverse stream runs and keeps up, no long writer on the service database, the switch works.
  private func gate(context: OnlineContext, switcher: ApplicationSwitch, report: inout CutoverReport) async throws {
    let worst = try await Heartbeat.steady(
      service, from: context.admin, to: context.source, for: steady, stream: "reverse stream")
    report.notes.append("gate: reverse: lag at most \(Int(worst.inSeconds * 1000)) ms over \(Int(steady.inSeconds)) s")
    report.notes.append(try await OnlineVerify.gate(context: context, plan: plan))
    let writers = try await context.admin.query(
      """
      SELECT count(*) FROM pg_stat_activity
      WHERE datname = current_database() AND backend_xid IS NOT NULL AND xact_start < now() - interval '5 seconds'
        AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      """
    ).scalar
    guard writers == "0" else {
      throw CleaveError(
        .onlineRefused, "\(writers ?? "some") transaction(s) have been writing on the service database for over 5 s",
        hint: "the fence would wait for them inside the freeze; let them finish first")
    }
    _ = try await switcher.test()
  }

  /// Undoes a half-done rollback: the application stays on (or goes back to) the service database, the source
  /// stays fenced, the reverse stream runs again; records `cut-over`.
  private func undo(
    context: OnlineContext, switcher: ApplicationSwitch, fenced: [String], entry: OnlineJournal.Entry
  ) async throws {
    let names = context.names
    // The application's way back: the service database's URL (`url` is the source's).
    let back = OnlineCutover.url(of: context.target)
    switch switcher.method {
    case .pgbouncer(let pgbouncer):
      if let oldLine = entry.detail {
        let moved = try ApplicationSwitch.line(
          oldLine, database: pgbouncer.database, pointingAt: context.service.server,
          dbname: context.service.database)
        if try ApplicationSwitch.entryLine(pgbouncer) != moved {
          try ApplicationSwitch.rewrite(pgbouncer, to: moved)
          try await switcher.run(.switch, url: back)
        }
      }
    case .command:
      // Cleave cannot see where a command pointed the application: it is pointed back, whatever happened.
      try await switcher.run(.switch, url: back)
    }
    _ = try await Freezer(plan: plan, services: [service]).freeze(wait: .seconds(30))
    try await context.admin.execute("ALTER SUBSCRIPTION \(names.forward) DISABLE")
    // Cut over, the forward slot is not kept: nobody reads it, and it would hold back the source's WAL.
    try await context.admin.execute("ALTER SUBSCRIPTION \(names.forward) SET (slot_name = NONE)")
    try await OnlineSlot.drop(names.forward, service: service, on: context.source)
    try await context.source.execute("ALTER SUBSCRIPTION \(names.reverse) ENABLE")
    try await TargetFence.lift(on: fenced, admin: context.admin)
    try await switcher.run(.abort, url: back)
    try await context.admin.execute(
      "BEGIN; "
        + (try await OnlineJournal.record(
          .cutOver, service: service, identity: plan.identity, fencePoint: entry.fencePoint, detail: entry.detail,
          on: context.admin)) + " COMMIT")
  }
}
