import ArgumentParser
import CleaveCore
import Foundation
import Plan
import Provision
import Rollback

/// `cleave rollback -f cleave.yml [--service S] [--yes]`: removes what Cleave created, lifts the freeze.
struct RollbackCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rollback",
    abstract: "Remove the databases, schemas, roles and secrets Cleave created, and lift the freeze.",
    discussion: """
      Lists exactly what it will remove and restore, then asks on a terminal; without a terminal it needs --yes.
      It removes only objects carrying Cleave's mark for that service of this plan and source, leaves
      look-alikes (another plan's, or not Cleave's) alone, fails and removes nothing when it finds nothing of
      this plan's, and never touches the source's data. See docs/safety.md.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Roll back only this service (repeatable).")
  var service: [String] = []

  @Option(help: "The secrets file provision wrote (default: next to the plan, cleave.yml: cleave.secrets.env)")
  var secrets: String?

  /// `--secrets`, or the default next to the plan.
  var secretsPath: String { secrets ?? SecretsLocation.defaultPath(forPlan: file) }

  @Flag(help: "Do it without asking.")
  var yes = false

  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    try await reportingErrors {
      let logger = logging.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var rollback = Rollback(plan: plan, services: service, secretsPath: secretsPath)
      rollback.logger = logger
      let steps = try await rollback.plan()
      print("rollback will:")
      for action in steps.actions { print("  " + action.description) }
      if steps.actions.isEmpty { print("  nothing: no object of this plan's is on the servers it names now") }
      for object in steps.leftAlone { print("  leave: " + object) }
      if !yes && !steps.actions.isEmpty {
        guard try Confirmation.ask("rollback removes the objects listed above") else { return }
      }
      try await rollback.run(steps)
      print("rolled back: \(steps.actions.count) steps done")
    }
  }
}
