import ArgumentParser
import CleaveCore
import Foundation
import Plan
import Report

/// `cleave plan -f cleave.yml`: what the split means, before anything is copied.
struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show ownership, soft references, objects crossing service boundaries and the queries that will break.",
    discussion: "Connects to the source only, read-only. The plan file format is in docs/plan-file.md.")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Flag(help: "Fail when some table of the source belongs to no service.")
  var strict = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      logger.debug("planning", metadata: ["plan": "\(file)"])
      let analysis = try await Planner(
        planPath: file, strict: strict, environment: ProcessInfo.processInfo.environment
      ).run()
      print(PlanReport(analysis).rendered(as: global.format))
    }
  }
}
