import ArgumentParser
import CleaveCore
import Foundation
import Freeze
import Plan
import Report
import Verify

/// `cleave verify -f cleave.yml`: every service database against the plan's projection of the source.
struct VerifyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Compare each service's tables, schema and soft references with the plan's projection of the source.",
    discussion: "Exits 0 when everything matches, 8 when anything differs (docs/exit-codes.md).")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Read the source in this snapshot (the one `cleave snapshot` holds and the copy used).")
  var snapshot: String?

  @Option(help: "Also write the report as one self-contained HTML page to this file.")
  var html: String?

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var verifier = Verifier(plan: plan, snapshot: snapshot)
      verifier.logger = logger
      let summary = try await verifier.run()
      if let html {
        do {
          try VerifyHTMLReport(summary).page().write(toFile: html, atomically: true, encoding: .utf8)
        } catch {
          throw CleaveError(
            .fileWriteFailed, "cannot write the HTML report to \(html): \(error.localizedDescription)",
            hint: "check that the folder exists and is writable")
        }
      }
      print(VerifyReport(summary, style: .standardOutput).rendered(as: global.format))
      if !summary.passed { throw ExitCode(ExitStatus.verificationFailed.rawValue) }
      // Equal data under a freeze that no longer holds proves little: the next write lands in the old place.
      let fence = try await Freezer(plan: plan).fence()
      if !fence.holds {
        throw CleaveError(
          .fenceBroken, "the data matches, but the freeze does not hold: " + fence.problems.joined(separator: "; "),
          hint: "run cleave freeze again to re-arm it, then verify again")
      }
    }
  }
}
