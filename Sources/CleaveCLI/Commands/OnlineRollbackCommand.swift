import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online rollback -f PLAN --service S [--max-freeze SECONDS]`: the cutover's mirror image.
struct OnlineRollbackCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rollback",
    abstract: "Move a cut-over service's application back to the source, keeping the writes it made since.",
    discussion: """
      Over the reverse stream, with the same bounded freeze as cutover: the writes made on the service
      database since the cutover are in the source afterwards, and the forward stream runs again. Past
      --max-freeze before the switch it is undone and the application stays on the service database.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "The service to roll back.")
  var service: String

  @Option(help: "Undo the rollback if the application's writes would be held longer than this many seconds.")
  var maxFreeze: Double = 5

  @Option(help: "Seconds the reverse stream's lag must stay under one second before the pause.")
  var steady: Double = 30

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      var rollback = OnlineRollback(plan: plan, service: service)
      rollback.maxFreeze = .milliseconds(Int(maxFreeze * 1000))
      rollback.steady = .milliseconds(Int(max(steady, 0) * 1000))
      rollback.logger = global.makeLogger()
      let report = try await rollback.run()
      print(global.format == .json ? JSONRendering.render(report) : OnlineCutoverCommand.text(report))
      let unequal = report.tables.filter { !$0.equal }
      if !unequal.isEmpty {
        throw CleaveError(
          .cutoverUnequal,
          "after the switch back, \(unequal.count) table(s) differ between the source and the service database: "
            + unequal.map(\.table).joined(separator: ", "),
          hint: "the application writes to the source again; compare with `cleave verify` and cut over again "
            + "only once they are equal")
      }
    }
  }
}
