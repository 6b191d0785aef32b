import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online cutover -f PLAN --service S [--dry-run] [--max-freeze SECONDS]`.
struct OnlineCutoverCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cutover",
    abstract: "Move a streaming service's application to its database with a bounded write freeze.",
    discussion: """
      Pauses the service's connections (the plan's switch:), fences its tables on the source, waits until the
      service database has applied everything, sets the sequences, starts a reverse stream, switches and
      resumes. Past --max-freeze before the switch, every step is undone and writes go on at the source
      (exit 12). After the resume, every table is compared as of the switch. See docs/online.md.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "The service to cut over.")
  var service: String

  @Option(help: "Undo the cutover if the application's writes would be held longer than this many seconds.")
  var maxFreeze: Double = 5

  @Option(help: "Seconds the lag must stay under one second before the pause.")
  var steady: Double = 30

  @Flag(help: "Check the gate (lag, long writers, the switch) and change nothing.")
  var dryRun = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      var cutover = OnlineCutover(plan: plan, service: service)
      cutover.maxFreeze = .milliseconds(Int(maxFreeze * 1000))
      cutover.steady = .milliseconds(Int(max(steady, 0) * 1000))
      cutover.dryRun = dryRun
      cutover.logger = global.makeLogger()
      let report = try await cutover.run()
      print(global.format == .json ? JSONRendering.render(report) : Self.text(report))
      let unequal = report.tables.filter { !$0.equal }
      if !unequal.isEmpty {
        throw CleaveError(
          .cutoverUnequal,
          "after the switch, \(unequal.count) table(s) differ between the fenced source and the service database: "
            + unequal.map(\.table).joined(separator: ", "),
          hint: "the application now writes to the service database; roll back with `cleave online rollback -f "
            + "\(file) --service \(service)` (the reverse stream keeps its writes)")
      }
    }
  }

  static func text(_ report: CutoverReport) -> String {
    var lines: [String] = []
    for note in report.notes { lines.append("\(report.service): \(note)") }
    if report.dryRun {
      lines.append("\(report.service): the gate passes; nothing was changed (dry run)")
      return lines.joined(separator: "\n")
    }
    for event in report.timeline {
      let time = String(event.atMilliseconds)
      lines.append("  " + String(repeating: " ", count: max(0, 6 - time.count)) + time + " ms  " + event.step)
    }
    if let freeze = report.freezeMilliseconds {
      lines.append(
        "\(report.service): \(report.state.rawValue); writes were held \(freeze) ms; fence at "
          + "\(report.fencePoint ?? "?"); \(report.sequences) sequence(s) set")
    } else {
      lines.append("\(report.service): \(report.state.rawValue)")
    }
    for table in report.tables {
      lines.append("  \(table.table): \(table.sourceRows) rows, \(table.equal ? "equal" : "DIFFERENT")")
    }
    return lines.joined(separator: "\n")
  }
}
