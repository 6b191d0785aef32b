import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online start -f PLAN --service S`: publication, slot, seed in the slot's snapshot, subscription.
struct OnlineStartCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "start",
    abstract: "Seed each service in a replication slot's snapshot, then stream the source's changes to it.",
    discussion: """
      Resumable: after a kill, run the same command again. A service already streaming is left as it is.
      On the source it creates a publication, a logical replication slot and a heartbeat row (schema
      _cleave_online), each marked as Cleave's; `cleave online cancel` removes them.
      """)

  @OptionGroup var split: SplitOptions

  @Option(help: "Start only this service (repeatable; default: every service of the plan).")
  var service: [String] = []

  @Option(help: "Tables larger than this many MiB are seeded in ranges of their primary key.")
  var splitMB: Int = 256

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: split.file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var results: [OnlineStart.Result] = []
      for name in service.isEmpty ? plan.services.map(\.name) : service {
        var start = OnlineStart(
          plan: plan, service: name, secretsPath: split.secretsPath, jobs: split.jobs,
          workDirectory: NSTemporaryDirectory(), reporter: ProgressReporter(quiet: global.format == .json))
        start.splitBytes = Int64(splitMB) << 20
        start.logger = logger
        let result = try await start.run()
        if global.format == .text {
          if let seed = result.seed { print(CopyReport(seed).rendered(as: .text)) }
          for note in result.notes { print("\(name): \(note)") }
          print(
            "\(name): \(result.state.rawValue) (slot and subscription \(result.name), from \(result.consistentPoint ?? "?"))"
          )
        }
        results.append(result)
      }
      if global.format == .json { print(JSONRendering.render(["services": results])) }
      SecretsWarning.check(split.secretsPath)
    }
  }
}
