import ArgumentParser
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools

/// `cleave snapshot -f cleave.yml`: exports a snapshot of the source and holds it open, so that `cleave copy
/// --snapshot` and `cleave verify --snapshot` read the same instant while the source keeps taking writes.
struct SnapshotCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot",
    abstract: "Export a snapshot of the source and hold it open until standard input closes.",
    discussion: """
      Prints the snapshot id on the first line of standard output, then waits. Pass the id to
      `cleave copy --snapshot ID` and `cleave verify --snapshot ID`. The snapshot ends when standard input
      reaches end of file, or when the command is stopped; while it is held, the source's vacuum cannot remove
      rows it may still see, so do not keep it longer than the copy and the verify need.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try PlanDecoder.load(path: file, environment: ProcessInfo.processInfo.environment)
      let source = ConnInfo(plan.source.url)
      let snapshot = try await logging.makeLogger().step(
        "exporting a snapshot of the source", metadata: ["source": "\(source)"]
      ) { try await SourceSnapshot.export(from: source) }
      FileHandle.standardOutput.write(Data((snapshot.id + "\n").utf8))
      while readLine(strippingNewline: false) != nil {}
      await snapshot.release()
    }
  }
}
