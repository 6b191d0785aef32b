import ArgumentParser
import CleaveCore
import Copy
import Foundation
import Report

/// `cleave copy -f cleave.yml`: provision, then copy every service's schema and data from one snapshot.
struct CopyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "copy",
    abstract: "Provision the targets and copy each service's tables from one snapshot of the source.",
    discussion: """
      Resumable: after a crash or a kill, run the same command again and it continues where it stopped.
      The source is only read, in read-only transactions.
      """)

  @OptionGroup var split: SplitOptions

  @Option(help: "Tables larger than this many MiB are copied in ranges of their primary key.")
  var splitMB: Int = 256

  @Option(help: "Where this run's temporary files go (the schema dump); removed when it ends (default: $TMPDIR).")
  var workDir: String?

  @Option(
    help: ArgumentHelp(
      "Copy this service again from the start, dropping what earlier runs copied for it (repeatable).",
      discussion: "The way out when the source's schema or the service's tables changed under a copy (CLV6005)."))
  var recopy: [String] = []

  @Option(help: "Copy only this service (repeatable); the others are left as they are.")
  var service: [String] = []

  @Option(help: "Copy from this exported snapshot (held open by `cleave snapshot`) instead of a new one.")
  var snapshot: String?

  @Flag(help: "Copy every table as text COPY (by default a table whose types allow it travels in binary).")
  var noBinary = false

  @Option(
    help: ArgumentHelp(
      "The memory, in MiB, the index and key builds running at once may use on a target, shared between them.",
      discussion: "Each build gets this divided by --jobs as its maintenance_work_mem, never less than the target's "
        + "own setting. Without it each build uses the target's setting."))
  var indexMemoryMB: Int?

  @Flag(
    help: ArgumentHelp(
      "Build indexes and keys only once every table's rows are in, as pg_restore does (slower; for measuring).",
      discussion: "By default a table's indexes, keys and statistics start as soon as its own rows are in."))
  var noOverlap = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      var splitter = Split(
        planPath: split.file, environment: ProcessInfo.processInfo.environment, secretsPath: split.secretsPath)
      splitter.logger = global.makeLogger()
      let summary = try await splitter.copy(
        jobs: split.jobs, workDirectory: workDir ?? NSTemporaryDirectory(), splitBytes: Int64(splitMB) << 20,
        reporter: ProgressReporter(quiet: global.format == .json), snapshot: snapshot, recopy: Set(recopy),
        only: Set(service), binary: !noBinary, indexMemory: indexMemoryMB.map { Int64($0) << 20 },
        overlap: !noOverlap)
      print(CopyReport(summary).rendered(as: global.format))
      SecretsWarning.check(split.secretsPath)
    }
  }
}
