import Backup
import CleaveCore
import Config
import Copy
import Foundation
import Plan
import PostgresDriver
import Verify

/// Runs `cleave run`, the whole migration: backup, provision, copy, verify and config, in that order.
///
/// It stops at the first failure with that step's error, and, run again, skips the steps `RunState` records as
/// finished.
public struct Runner: Sendable {
  public var planPath: String
  public var environment: [String: String]
  public var secretsPath: String
  public var jobs: Int
  /// Where `config` writes the services' settings, and in which form.
  public var configDirectory: String
  public var configFormat: ConfigFormat
  /// Called with each step's name as it starts, and whether it was skipped.
  public var announce: @Sendable (String, Bool) -> Void

  public init(
    planPath: String, environment: [String: String], secretsPath: String, jobs: Int, configDirectory: String,
    configFormat: ConfigFormat = .env, announce: @escaping @Sendable (String, Bool) -> Void = { _, _ in }
  ) {
    self.planPath = planPath
    self.environment = environment
    self.secretsPath = secretsPath
    self.jobs = jobs
    self.configDirectory = configDirectory
    self.configFormat = configFormat
    self.announce = announce
  }

  /// The steps, in order.
  public static let steps = ["backup", "provision", "copy", "verify", "config"]

  /// What the run did: per step, its record (and whether this run did it or found it done).
  public struct Outcome: Sendable {
    public var state: RunState
    public var ranNow: [String]
    public var verify: VerifySummary?
  }

  /// - Returns: the state after every step finished.
  /// - Throws: the failing step's `CleaveError`; verify's differences as `verificationFailed` (CLV4001).
  public func run() async throws -> Outcome {
    let statePath = RunState.path(forPlan: planPath)
    var state = try RunState.load(statePath)
    let split = Split(planPath: planPath, environment: environment, secretsPath: secretsPath)
    let plan = try await split.resolvedPlan()
    let folder = URL(fileURLWithPath: planPath).deletingLastPathComponent().path + "/.cleave"
    var ranNow: [String] = []
    var verified: VerifySummary?
    let clock = ContinuousClock()
    for step in Self.steps {
      if let done = state.steps[step], try await stillGood(step, done) {
        announce(step, true)
        continue
      }
      announce(step, false)
      let start = clock.now
      var detail: String?
      switch step {
      case "backup":
        let directory = folder + "/backups/run"
        _ = try await BackupMaker(plan: plan, directory: directory, all: false).run()
        detail = directory
      case "provision":
        _ = try await split.provision()
      case "copy":
        _ = try await split.copy(
          jobs: jobs, workDirectory: NSTemporaryDirectory(), splitBytes: 256 << 20,
          reporter: ProgressReporter(quiet: true))
      case "verify":
        let summary = try await Verifier(planPath: planPath, environment: environment).run()
        verified = summary
        guard summary.passed else {
          throw CleaveError(
            .verificationFailed, "verify found differences; the split is not finished",
            hint: "run `cleave verify -f \(planPath)` for the report, fix the cause, then `cleave run` again")
        }
      default:
        let connections = try ServiceConnections.resolve(
          plan: plan.file, secretsPath: secretsPath, inlineSecrets: false)
        for file in ConfigWriter(connections: connections).files(configFormat) {
          let path = configDirectory + "/" + file.path
          try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
          try file.content.write(toFile: path, atomically: true, encoding: .utf8)
        }
        detail = configDirectory
      }
      let elapsed = clock.now - start
      state.steps[step] = RunState.Step(
        finishedAt: ISO8601DateFormatter().string(from: Date()),
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, detail: detail)
      try state.save(statePath)
      ranNow.append(step)
    }
    return Outcome(state: state, ranNow: ranNow, verify: verified)
  }

  /// Whether a recorded step can be trusted as it is: a backup only if its files still match its manifest.
  private func stillGood(_ step: String, _ record: RunState.Step) async throws -> Bool {
    guard step == "backup" else { return true }
    guard let directory = record.detail else { return false }
    do { _ = try await BackupCheck.run(directory: directory) } catch { return false }
    return true
  }
}
