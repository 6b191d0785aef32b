import ArgumentParser
import Backup
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import Report

/// `cleave backup -f cleave.yml [--dir DIR] [--all] [--test-restore]`, and `cleave backup --check DIR`.
struct BackupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backup",
    abstract: "Back up the source with pg_dump, with a manifest of row counts and checksums.",
    discussion: """
      The dump (custom format) holds the whole schema and the data of the tables the plan moves (--all: every
      table's data), taken in one snapshot in which the manifest's row counts are counted too. --test-restore
      restores it into a scratch database on a target server, compares the counts, and drops the scratch
      database. --check DIR re-reads a backup's files against its manifest. A backup that cannot be read back
      exits 9.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Where to write the backup (default: .cleave/backups/<time> next to the plan).")
  var dir: String?

  @Flag(help: "Back up every table's data, not only the tables the plan moves.")
  var all = false

  @Flag(help: "Restore the backup into a scratch database on a target server and compare the counts.")
  var testRestore = false

  @Option(help: "The target server for --test-restore (default: the plan's first target).")
  var restoreTarget: String?

  @Option(help: "Check the backup in this folder against its manifest, and do nothing else.")
  var check: String?

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      if let check {
        let manifest = try await BackupCheck.run(directory: check)
        print(
          BackupReport(directory: check, manifest: manifest, restored: nil, checked: true).rendered(as: global.format))
        return
      }
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      let directory = dir ?? Self.defaultDirectory(plan: file)
      var maker = BackupMaker(plan: plan, directory: directory, all: all)
      maker.logger = logger
      let manifest = try await maker.run()
      var restored: [RestoreTest.Count]?
      if testRestore {
        let name = restoreTarget ?? plan.file.targets.first?.name ?? ""
        guard let target = plan.file.target(name) else {
          throw CleaveError(.planUnknownTarget, "there is no target \"\(name)\" to test-restore on")
        }
        restored = try await RestoreTest(directory: directory, server: ConnInfo(target.endpoint.url)).run()
      }
      print(
        BackupReport(directory: directory, manifest: manifest, restored: restored, checked: false).rendered(
          as: global.format))
    }
  }

  /// `.cleave/backups/20261122T041500Z` next to the plan.
  static func defaultDirectory(plan: String) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withTimeZone]
    let stamp = formatter.string(from: Date()).replacingOccurrences(of: ":", with: "")
    return URL(fileURLWithPath: plan).deletingLastPathComponent().path + "/.cleave/backups/" + stamp
  }
}
