import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online`: split a service while the source keeps taking writes (docs/online.md).
///
/// `check`, `start`, `status`, `cutover`, `rollback` and `cancel` exist; `verify` and `complete` come next.
struct OnlineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "online", abstract: "Split services while the source keeps taking writes (docs/online.md).",
    subcommands: [
      OnlineCheckCommand.self, OnlineStartCommand.self, OnlineStatusCommand.self, OnlineVerifyCommand.self,
      OnlineCutoverCommand.self,
      OnlineRollbackCommand.self, OnlineCompleteCommand.self, OnlineCancelCommand.self,
    ])
}

/// `cleave online check -f PLAN [--service S]`: whether each service can be streamed as planned; changes nothing.
struct OnlineCheckCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Whether each service can be streamed with logical replication as planned; changes nothing.")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Only this service (repeatable).")
  var service: [String] = []

  @Option(help: "Refuse when a transaction has held a moved table this many seconds.")
  var longTransaction: Double = 60

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      var check = OnlineCheck(plan: plan, services: service)
      check.longTransaction = .milliseconds(Int(max(longTransaction, 0) * 1000))
      let findings = try await check.run()
      if global.format == .json {
        print(JSONRendering.render(["findings": findings]))
      } else {
        for finding in findings {
          print(
            "\(finding.service): \(finding.refusal ? "REFUSED" : "note"): \(finding.message)\n  hint: \(finding.hint)")
        }
        let refused = Set(findings.filter(\.refusal).map(\.service))
        for name in plan.services.map(\.name) where service.isEmpty || service.contains(name) {
          if !refused.contains(name) { print("\(name): ready to stream") }
        }
      }
      let refusals = findings.filter(\.refusal).count
      if refusals > 0 {
        throw CleaveError(
          .onlineRefused, "\(refusals) reason(s) stop the online split as planned (listed above)",
          hint: "fix each, or split those services offline with `cleave run`")
      }
    }
  }
}
