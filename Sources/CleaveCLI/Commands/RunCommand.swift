import ArgumentParser
import CleaveCore
import Config
import Copy
import Foundation
import Pipeline
import Plan
import Report

/// `cleave run -f cleave.yml`: the whole migration, resumable.
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Backup, provision, copy, verify and config, in that order; run again to continue after a stop.",
    discussion: """
      What is done is read from where the work happened, for every service the plan names now: the backup from
      .cleave/<plan>/backup (checked against its manifest, made for this plan and source), copied, verified and
      configured from each service's own database. A step is skipped only when every service has it under the
      plan as it is now. The first failure stops the run with its own error and exit status. See docs/safety.md.
      """)

  @OptionGroup var split: SplitOptions

  @Option(help: "Where the services' connection settings are written (default: .cleave/config next to the plan).")
  var configDir: String?

  @Option(help: "The form of the settings: env, spring, prisma or compose.")
  var configFormat: ConfigFormat = .env

  @Flag(help: "Rehearse: run the split against a restore of the backup, time each step, then remove it all.")
  var rehearse = false

  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    try await reportingErrors {
      if rehearse {
        let timings = try await Rehearsal(
          planPath: split.file, environment: ProcessInfo.processInfo.environment, jobs: split.jobs
        ).run()
        print("rehearsal against a restore of the backup (everything it made is removed again):")
        for timing in timings {
          print("  " + Formatting.pad(timing.step, 10) + String(format: "%8.1f s", timing.seconds))
        }
        let window = timings.filter { ["provision", "copy", "verify"].contains($0.step) }.reduce(0) { $0 + $1.seconds }
        print(
          String(
            format: "go/no-go: provision + copy + verify took %.1f s; the maintenance window must hold that, "
              + "plus the freeze and the switch-over", window))
        return
      }
      let directory =
        configDir ?? (URL(fileURLWithPath: split.file).deletingLastPathComponent().path + "/.cleave/config")
      var runner = Runner(
        planPath: split.file, environment: ProcessInfo.processInfo.environment, secretsPath: split.secretsPath,
        jobs: split.jobs,
        configDirectory: directory, configFormat: configFormat,
        announce: { step, skipped in
          // Written at once (not through print's buffer), so a watcher sees each step as it starts.
          FileHandle.standardOutput.write(Data((skipped ? "\(step): done before, skipped\n" : "\(step) ...\n").utf8))
        })
      runner.logger = logging.makeLogger()
      let outcome = try await runner.run()
      for warning in outcome.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
      for step in Runner.steps {
        let detail =
          step == "backup" ? outcome.backupDirectory : step == "config" ? directory : nil
        let time = outcome.seconds[step].map { String(format: "%8.1f s", $0) } ?? "    done before"
        print(Formatting.pad(step, 10) + time + (detail.map { "  \($0)" } ?? ""))
      }
      print("the split is made and verified; `cleave status -f \(split.file)` shows what is next")
      SecretsWarning.check(split.secretsPath)
    }
  }
}

/// `cleave status -f cleave.yml`: per service, what is done and what is next.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show, per service, what has been done (and when) and what is next.")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      let status = try await Status.read(plan: plan)
      print(StatusReport(status).rendered(as: global.format))
    }
  }
}
