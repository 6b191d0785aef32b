import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Provision
import Report

/// `cleave online cancel -f PLAN --service S [--yes]`: before cutover, removes the stream and the copy.
struct OnlineCancelCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel",
    abstract: "Before a cutover: remove a service's subscription, slot, publication and its copy.",
    discussion: """
      Lists what it will remove, then asks on a terminal; without a terminal it needs --yes. Refused once the
      service is cut over (roll back first). The source's tables and data are not touched.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "The service to cancel.")
  var service: String

  @Option(help: "The secrets file provision wrote (default: next to the plan, cleave.yml: cleave.secrets.env)")
  var secrets: String?

  @Flag(help: "Do it without asking.")
  var yes = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var cancel = OnlineCancel(
        plan: plan, service: service, secretsPath: secrets ?? SecretsLocation.defaultPath(forPlan: file))
      cancel.logger = logger
      let actions = try await cancel.actions()
      if global.format == .text {
        print("online cancel will:")
        for action in actions { print("  " + action) }
      }
      if !yes {
        guard try Confirmation.ask("online cancel removes the objects listed", interactive: global.format == .text)
        else { return }
      }
      try await cancel.run()
      if global.format == .json {
        print(JSONRendering.render(["service": service, "state": "cancelled"]))
      } else {
        print("\(service): cancelled (\(actions.count) steps done)")
      }
    }
  }
}
