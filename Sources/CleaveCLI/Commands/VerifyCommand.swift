import ArgumentParser
import CleaveCore
import Foundation
import Report
import Verify

/// `cleave verify -f cleave.yml`: every service database against the plan's projection of the source.
struct VerifyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify", abstract: "Compare each service's tables with the source: row counts and content checksums.",
    discussion: "Exits 0 when every table matches, 8 when some table differs (docs/exit-codes.md).")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let summary = try await Verifier(planPath: file, environment: ProcessInfo.processInfo.environment).run()
      print(VerifyReport(summary).rendered(as: global.format))
      if !summary.passed { throw ExitCode(ExitStatus.verificationFailed.rawValue) }
    }
  }
}
