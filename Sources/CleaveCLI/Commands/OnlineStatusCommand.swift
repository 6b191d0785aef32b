import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online status -f PLAN [--service S] [--format json]`: state, lag and retained WAL per service.
struct OnlineStatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Each service's online state, lag (bytes, seconds) and the WAL its slot holds on the source.",
    discussion: """
      The lag in seconds is how long a heartbeat written on the source now takes to be applied; the lag in
      bytes is the source's WAL past what the service database has applied. Exits 12 when a stream has a
      problem (stopped, its slot gone).
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Only this service (repeatable).")
  var service: [String] = []

  @Option(help: "Seconds over which the rates are measured.")
  var window: Double = 1

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      var status = OnlineStatus(plan: plan, services: service)
      status.window = .milliseconds(Int(max(window, 0) * 1000))
      let services = try await status.run()
      if global.format == .json {
        print(JSONRendering.render(["services": services]))
      } else {
        for entry in services { print(Self.text(entry)) }
      }
      let problems = services.flatMap { entry in entry.problems.map { "\(entry.service): \($0)" } }
      if !problems.isEmpty {
        throw CleaveError(
          .onlineFailed, problems.joined(separator: "; "),
          hint: "`cleave online cancel` and start again, or fix the cause and re-enable the subscription")
      }
    }
  }

  static func text(_ entry: OnlineServiceStatus) -> String {
    guard let state = entry.state else { return "\(entry.service): not started online" }
    var lines = ["\(entry.service): \(state.rawValue) (\(entry.name))"]
    func bytes(_ value: Int64?) -> String {
      value.map { ByteCountFormatter.string(fromByteCount: $0, countStyle: .binary) } ?? "?"
    }
    if state == .streaming || state == .cuttingOver {
      let seconds =
        entry.lagSeconds.map { String(format: "%.3f s", $0) }
        ?? entry.lagAtLeastSeconds.map { String(format: "over %.1f s", $0) } ?? "?"
      lines.append("  lag: \(seconds), \(bytes(entry.lagBytes)) (applied up to \(entry.appliedPosition ?? "?"))")
    }
    if entry.walRetainedBytes != nil {
      lines.append(
        "  WAL held by the slot: \(bytes(entry.walRetainedBytes)) (slot \(entry.slotActive == true ? "in use" : "idle"))"
      )
    }
    if let reverse = entry.reverse {
      let seconds =
        reverse.lagSeconds.map { String(format: "%.3f s", $0) }
        ?? reverse.lagAtLeastSeconds.map { String(format: "over %.1f s", $0) } ?? "?"
      lines.append(
        "  reverse stream \(reverse.name): lag \(seconds), \(bytes(reverse.lagBytes)) (the source has applied up to "
          + "\(reverse.appliedPosition ?? "?"))")
      lines.append(
        "  WAL held by the reverse slot: \(bytes(reverse.walRetainedBytes)) (slot "
          + "\(reverse.slotActive == true ? "in use" : "idle"))")
    }
    for table in entry.tables {
      let rate = table.changesPerSecond.map { String(format: ", %.0f changes/s", $0) } ?? ""
      lines.append("  \(table.name): \(table.state)\(rate)")
    }
    for problem in entry.problems { lines.append("  PROBLEM: \(problem)") }
    return lines.joined(separator: "\n")
  }
}
