import ArgumentParser
import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import Report

/// `cleave init SOURCE_URL`: a starting `cleave.yml`, proposed from the source's schemas, foreign keys and
/// recorded queries.
struct InitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init", abstract: "Propose a cleave.yml for a source database.",
    discussion: "Writes to standard output unless -o is given; never overwrites a file unless --force.")

  @Argument(help: "libpq URL or conninfo of the source database.")
  var source: String

  @Option(name: .shortAndLong, help: "Write the plan to this file instead of standard output.")
  var output: String?

  @Flag(help: "Overwrite the output file if it exists.")
  var force = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let yaml = try await Proposal.propose(source: source)
      guard let output else {
        if global.format == .json { print(JSONRendering.render(["plan": yaml])) } else { print(yaml, terminator: "") }
        return
      }
      if FileManager.default.fileExists(atPath: output), !force {
        throw CleaveError(.fileWriteFailed, "\(output) already exists", hint: "pass --force to overwrite it")
      }
      do { try yaml.write(toFile: output, atomically: true, encoding: .utf8) } catch {
        throw CleaveError(.fileWriteFailed, "cannot write \(output): \(error.localizedDescription)")
      }
      if global.format == .json { print(JSONRendering.render(["plan": yaml, "file": output])) }
      FileHandle.standardError.write(Data("wrote \(output); next: cleave plan -f \(output)\n".utf8))
    }
  }
}
