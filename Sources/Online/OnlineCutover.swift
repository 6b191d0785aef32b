import Catalog
import CleaveCore
import Foundation
import Freeze
import Logging
import Plan
import PostgresDriver
import Verify

/// `cleave online cutover`: moves one streaming service's application to its database with a bounded write
/// freeze, keeping a reverse stream so that a rollback loses nothing (docs/online.md, "Cutover, step by step").
///
/// Gate (nothing changes): the stream runs and its lag stays under a second for `steady`; no transaction has been
/// writing on the source for more than 5 s; the switch works; the reverse publication and slot are made. Then,
/// with the freeze clock running: pause the application's connections; fence the moved tables on the source
/// (the freeze's triggers, after a lock that waits out writers); a heartbeat after the fence, waited for on the
/// service database, proves everything before it applied; the forward subscription is disabled; sequences are
/// set from the source; the reverse stream starts; the connections are switched and resumed. Past `maxFreeze`
/// before the switch, or on any error, every step is undone and writes go on at the source (CLVB005). After the
/// resume, each table of the fenced source is compared with the service database as of the switch (a snapshot
/// taken while paused): any difference is CLVB006, with how to roll back.
///
/// The journal says `cutting-over` from before the pause to after the switch: a rerun after a kill undoes a
/// half-done cutover (the entry's line put back, reverse stream dropped, forward stream enabled, fence lifted,
/// connections resumed) and then cuts over afresh; `cut-over` means the switch was made, and a rerun only makes
/// sure the connections are resumed.
public struct OnlineCutover: Sendable {
  public var plan: SplitPlan
  public var service: String
  public var maxFreeze: Duration = .seconds(5)
  /// How long the lag must stay under a second before the pause.
  public var steady: Duration = .seconds(30)
  public var dryRun = false
  public var logger: Logger = .silent

  public init(plan: SplitPlan, service: String) {
    self.plan = plan
    self.service = service
  }

  /// - Throws: `CleaveError`: `onlineWrongState` unless streaming, `onlineRefused` when the gate does not pass,
  ///   `cutoverAborted` when it was undone, `cutoverUnequal` when the check after the switch found a difference.
  public func run() async throws -> CutoverReport {
    let (context, switcher) = try await OnlineContext.forSwitch(service, plan: plan)
    defer { Task { await context.close() } }
    let servicePlan = context.service
    let method = switcher.method
    let target = context.target
    var report = CutoverReport(
      service: service, state: .streaming, dryRun: dryRun, sequences: 0, timeline: [], tables: [], notes: [])
    guard let entry = try await OnlineJournal.entry(of: service, on: context.admin) else {
      throw CleaveError(
        .onlineWrongState, "service \"\(service)\" is not streaming: start it first",
        hint: "`cleave online start -f \(plan.file.path) --service \(service)`")
    }
    let url = Self.url(of: target)
    switch entry.state {
    case .cutOver:
      try await switcher.run(.resume, url: url)
      try await dropForwardSlot(context)
      report.state = .cutOver
      report.fencePoint = entry.fencePoint
      report.notes.append("already cut over at \(entry.fencePoint ?? "?"); its connections are resumed")
      return report
    case .cuttingOver:
      try await undo(context: context, switcher: switcher, oldLine: entry.detail, reason: "interrupted")
      report.notes.append("a cutover interrupted earlier was undone first; cutting over afresh")
    case .streaming: break
    default:
      throw CleaveError(
        .onlineWrongState, "service \"\(service)\" is \(entry.state.rawValue), not streaming",
        hint: "cutover moves a streaming service")
    }
    let catalog = try await CatalogReader(connection: context.source).read()
    let oldLine = try await gate(context: context, switcher: switcher, report: &report)
    if dryRun { return report }
    let reverse = ReverseStream(context: context, identity: plan.identity)
    try await reverse.prepare(catalog: catalog)
    try await context.admin.execute(
      "BEGIN; "
        + (try await OnlineJournal.record(
          .cuttingOver, service: service, identity: plan.identity, detail: oldLine, on: context.admin)) + " COMMIT")
    let clock = ContinuousClock()
    let began = clock.now
    func mark(_ step: String) {
      let at = Int((clock.now - began).inSeconds * 1000)
      report.timeline.append(.init(step: step, atMilliseconds: at))
      logger.info("online cutover: \(step) at \(at) ms")
    }
    func remaining() -> Duration { maxFreeze - (clock.now - began) }
    // The views the check after the resume compares, opened now and fixed inside the freeze: once resumed, the
    // reverse stream writes the application's new rows into the source.
    let sourceView = try await SerialConnection.connect(plan.source, readOnly: true)
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
      var freezer = Freezer(plan: plan, services: [service])
      freezer.logger = logger
      _ = try await freezer.freeze(wait: max(remaining(), .milliseconds(1)))
      mark("fenced")
      guard let beat = try await Heartbeat.beat(service, on: context.source) else {
        throw CleaveError(.onlineFailed, "the source's heartbeat table is missing")
      }
      report.fencePoint = try await context.source.query("SELECT pg_current_wal_lsn()::text").scalar
      guard
        try await Heartbeat.wait(
          for: beat, of: service, on: context.admin, timeout: max(remaining(), .milliseconds(1)),
          every: .milliseconds(2)) != nil
      else {
        throw CleaveError(
          .cutoverAborted, "the service database did not apply the source's last changes within --max-freeze",
          hint: "the stream lags; wait for `online status` to show a lag under a second, or raise --max-freeze")
      }
      mark("applied")
      try await context.admin.execute("ALTER SUBSCRIPTION \(context.names.forward) DISABLE")
      report.sequences = try await SequenceSync.copy(
        from: context.source, to: context.admin, service: context.admin)
      mark("sequences")
      try await sourceView.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
      try await targetView.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
      try await reverse.start(before: began + maxFreeze)
      mark("reverse stream")
      guard remaining() > .zero else {
        throw CleaveError(
          .cutoverAborted, "the cutover reached --max-freeze (\(maxFreeze.inSeconds) s) before the switch",
          hint: "nothing changed for the application; raise --max-freeze or cut over when the source is quieter")
      }
      let line = try oldLine.map {
        try ApplicationSwitch.line(
          $0, database: databaseName(method), pointingAt: servicePlan.server,
          dbname: servicePlan.database)
      }
      try await switcher.run(.switch, line: line, url: url)
      try await context.admin.execute(
        "BEGIN; "
          + (try await OnlineJournal.record(
            .cutOver, service: service, identity: plan.identity, fencePoint: report.fencePoint, detail: oldLine,
            on: context.admin)) + " COMMIT")
      mark("switched")
      try await switcher.run(.resume, url: url)
      mark("resumed")
    } catch {
      let reason = (error as? CleaveError)?.message ?? "\(error)"
      try await undo(context: context, switcher: switcher, oldLine: oldLine, reason: reason)
      if let error = error as? CleaveError, error.code == .cutoverAborted { throw error }
      throw CleaveError(
        .cutoverAborted, "the cutover of \"\(service)\" failed and was undone: \(reason)",
        hint: "writes go on at the source; fix the cause and cut over again", cause: error)
    }
    report.freezeMilliseconds = report.timeline.last?.atMilliseconds
    report.state = .cutOver
    try await dropForwardSlot(context)
    report.tables = try await CutoverReport.TableCheck.all(
      of: context.service, catalog: catalog, source: sourceView, target: targetView)
    return report
  }

  /// Drops the forward slot once cut over.
  ///
  /// The forward subscription is disabled, and a slot nobody reads holds back the source's WAL (every other
  /// table's writes too) until the disk fills. A rollback makes it again, inside its freeze.
  private func dropForwardSlot(_ context: OnlineContext) async throws {
    try await context.admin.execute("ALTER SUBSCRIPTION \(context.names.forward) SET (slot_name = NONE)")
    try await OnlineSlot.drop(context.names.forward, service: service, on: context.source)
  }

  /// The entry's name, for its new line.
  private func databaseName(_ method: ConnectionSwitch) -> String {
    if case .pgbouncer(let entry) = method { return entry.database }
    return service
  }

  /// The application's new URL, for a switch command (without a password: the command has its own).
  static func url(of target: ConnInfo) -> String {
    let options = (try? target.options()) ?? [:]
    return "postgresql://\(options["host"] ?? "localhost"):\(options["port"] ?? "5432")/\(options["dbname"] ?? "")"
  }

  /// The gate: stream running, lag under a second for `steady`, no long writer, the switch tested.
  ///
  /// - Returns: the PgBouncer entry's line now.
  private func gate(context: OnlineContext, switcher: ApplicationSwitch, report: inout CutoverReport) async throws
    -> String?
  {
    let commands = try await DDLWatch.recorded(for: context.names.forward, on: context.source)
    guard commands.isEmpty else {
      throw CleaveError(
        .onlineRefused, commands.map(DDLWatch.problem).joined(separator: "; "),
        hint: "`cleave online cancel -f \(plan.file.path) --service \(service)`, then start again")
    }
    let enabled = try await context.admin.query(
      """
      SELECT s.subenabled FROM pg_subscription s
      WHERE s.subname = $1 AND \(OnlineSubscription.inThisDatabase)
      """, [context.names.forward]
    ).scalar
    guard enabled == "t" else {
      throw CleaveError(
        .onlineRefused, "the stream of \"\(service)\" is not running (`cleave online status` says why)",
        hint: "fix it before cutting over")
    }
    let worst = try await Heartbeat.steady(
      service, from: context.source, to: context.admin, for: steady, stream: "stream")
    report.notes.append("gate: lag at most \(Int(worst.inSeconds * 1000)) ms over \(Int(steady.inSeconds)) s")
    report.notes.append(try await OnlineVerify.gate(context: context, plan: plan))
    let writers = try await context.source.query(
      """
      SELECT pid, usename, application_name, (now() - xact_start)::text AS age FROM pg_stat_activity
      WHERE datname = current_database() AND backend_xid IS NOT NULL AND xact_start < now() - interval '5 seconds'
        AND pid <> pg_backend_pid()
      """
    ).namedRows
    if !writers.isEmpty {
      throw CleaveError(
        .onlineRefused,
        "transactions have been writing on the source for more than 5 s: "
          + writers.map {
            "pid \($0.string("pid")) (\($0.string("usename")), \($0.string("application_name")), "
              + "\($0.string("age")))"
          }.joined(separator: "; "),
        hint: "the fence would wait for them inside the freeze; let them finish first")
    }
    return try await switcher.test()
  }

  /// Undoes a half-done cutover, each step skipped when it is not needed, and records `streaming`.
  func undo(
    context: OnlineContext, switcher: ApplicationSwitch, oldLine: String?, reason: String
  ) async throws {
    // The application's way back: the source's URL (`url` is the service database's).
    let back = Self.url(of: plan.source)
    switch switcher.method {
    case .pgbouncer(let entry):
      if let oldLine, try ApplicationSwitch.entryLine(entry) != oldLine {
        try ApplicationSwitch.rewrite(entry, to: oldLine)
        try await switcher.run(.switch, url: back)
      }
    case .command:
      // Cleave cannot see where a command pointed the application: it is pointed back, whatever happened.
      try await switcher.run(.switch, url: back)
    }
    try await ReverseStream(context: context, identity: plan.identity).drop()
    try await context.admin.execute("ALTER SUBSCRIPTION \(context.names.forward) ENABLE")
    _ = try await Freezer(plan: plan, services: [service]).unfreeze()
    try await switcher.run(.abort, url: back)
    try await context.admin.execute(
      "BEGIN; "
        + (try await OnlineJournal.record(
          .streaming, service: service, identity: plan.identity, detail: "cutover undone: \(reason)",
          on: context.admin)) + " COMMIT")
  }
}
