import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online complete -f PLAN --service S [--yes]`: after a cutover, removes the reverse stream and slots.
struct OnlineCompleteCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "complete",
    abstract: "After a cutover: remove the reverse stream, slots and publications; the source stays fenced.",
    discussion: """
      Lists what it will remove, then asks on a terminal; without a terminal it needs --yes. Afterwards a
      rollback can no longer bring the service database's writes back to the source. Only a cut-over service
      is completed; a rerun after a kill finishes the job.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "The service to complete.")
  var service: String

  @Flag(help: "Do it without asking.")
  var yes = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var complete = OnlineComplete(plan: plan, service: service)
      complete.logger = logger
      let actions = try await complete.actions()
      if !actions.isEmpty {
        if global.format == .text {
          print("online complete will:")
          for action in actions { print("  " + action) }
        }
        if !yes {
          guard
            try Confirmation.ask(
              "online complete ends the way back (rollback)", interactive: global.format == .text)
          else { return }
        }
      }
      let done = try await complete.run()
      if global.format == .json {
        print(JSONRendering.render(["service": service, "state": "completed"]))
      } else {
        print("\(service): completed" + (done ? "" : " (already)"))
      }
    }
  }
}
