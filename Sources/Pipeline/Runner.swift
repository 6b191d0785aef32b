import Backup
import CleaveCore
import Config
import Copy
import Foundation
import Logging
import Plan
import PostgresDriver
import Provision
import Verify

/// Runs `cleave run`, the whole migration: backup, provision, copy, verify and config, in that order.
///
/// The plan is loaded and resolved once. What is done is read from where the work happened, for every service
/// the plan names now: the backup from its folder (checked against its manifest, made for this plan and source),
/// and copied, verified and configured from each service's own database (`OutcomeStore`), under the key of the
/// plan as it is now. A step is skipped only when every service has it; it stops at the first failure with that
/// step's error.
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
  /// Where each step, and each library's own steps within it, are logged with their durations.
  public var logger: Logger = .silent

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

  /// The steps of a run, in order; each calls the same library entry as its own command.
  public enum Step: String, Sendable, CaseIterable {
    /// `BackupMaker`, as `cleave backup`, into the plan's own backup folder.
    case backup
    /// `Provisioner`, as `cleave provision`.
    case provision
    /// `Copier`, as `cleave copy`.
    case copy
    /// `Verifier`, as `cleave verify`.
    case verify
    /// `ConfigOutput` and `ConfigRecord`, as `cleave config --out`.
    case config
  }

  /// The steps' names, in order.
  public static let steps = Step.allCases.map(\.rawValue)

  /// What the run did: the steps it ran now with their seconds, those it found done, and what they left.
  public struct Outcome: Sendable {
    public var seconds: [String: Double] = [:]
    public var skipped: [String] = []
    public var backupDirectory: String?
    public var configFiles: [String] = []
    public var warnings: [String] = []
    public var verify: VerifySummary?
  }

  /// - Returns: what each step did.
  /// - Throws: the failing step's `CleaveError`; verify's differences as `verificationFailed` (CLV4001).
  public func run() async throws -> Outcome {
    let plan = try await PlanLoader.resolve(path: planPath, environment: environment, logger: logger)
    var outcome = Outcome()
    let clock = ContinuousClock()
    func step(_ step: Step, done: Bool, _ body: () async throws -> Void) async throws {
      let name = step.rawValue
      announce(name, done)
      if done {
        logger.info("run: \(name): done before, skipped")
        outcome.skipped.append(name)
        return
      }
      let start = clock.now
      try await logger.step("run: \(name)") { try await body() }
      let elapsed = clock.now - start
      outcome.seconds[name] = elapsed.inSeconds
    }

    let backup = await RunBackup.current(for: plan)
    outcome.backupDirectory = backup
    try await step(.backup, done: backup != nil) {
      outcome.backupDirectory = try await RunBackup.make(for: plan, logger: logger)
    }

    var provisioned: [ProvisionedService] = []
    try await step(.provision, done: false) {
      var provisioner = Provisioner(plan: plan, secretsPath: secretsPath)
      provisioner.logger = logger
      provisioned = try await provisioner.provisionAll()
    }

    var recorded = await Self.outcomes(plan)
    let copied = plan.services.allSatisfy { recorded[$0.name]?["copy"]?.key == $0.outcomeKey(plan.identity) }
    try await step(.copy, done: copied) {
      var copier = Copier(
        plan: plan, provisioned: provisioned, jobs: jobs, workDirectory: NSTemporaryDirectory(),
        reporter: SilentProgress())
      copier.logger = logger
      _ = try await copier.run()
      recorded = await Self.outcomes(plan)
    }

    let verified = plan.services.allSatisfy { service in
      guard let verify = recorded[service.name]?["verify"], let copy = recorded[service.name]?["copy"] else {
        return false
      }
      return verify.passed && verify.key == service.outcomeKey(plan.identity) && verify.finishedAt >= copy.finishedAt
    }
    try await step(.verify, done: verified) {
      var verifier = Verifier(plan: plan)
      verifier.logger = logger
      let summary = try await verifier.run()
      outcome.verify = summary
      guard summary.passed else {
        throw CleaveError(
          .verificationFailed, "verify found differences; the split is not finished",
          hint: "run `cleave verify -f \(planPath)` for the report, fix the cause, then `cleave run` again")
      }
    }

    let configKey = ConfigRecord.key(plan.identity, directory: configDirectory, format: configFormat)
    let configured = plan.services.allSatisfy { recorded[$0.name]?["config"]?.key == configKey }
    try await step(.config, done: configured) {
      let rendered = try await ConfigOutput(plan: plan.file, secretsPath: secretsPath, inlineSecrets: false)
        .render(configFormat)
      outcome.warnings += rendered.warnings
      outcome.configFiles = try ConfigOutput.write(rendered.files, to: configDirectory)
      let missed = await ConfigRecord.record(plan: plan, directory: configDirectory, format: configFormat)
      if !missed.isEmpty {
        throw CleaveError(
          .fileWriteFailed, "the settings are written, but could not be recorded for " + missed.joined(separator: ", "),
          hint: "check that their databases can be reached, then run `cleave run` again")
      }
    }
    return outcome
  }

  /// Every service's recorded outcomes, by service name and step.
  static func outcomes(_ plan: SplitPlan) async -> [String: [String: OutcomeStore.Outcome]] {
    var result: [String: [String: OutcomeStore.Outcome]] = [:]
    for service in plan.services { result[service.name] = await OutcomeStore.read(service) }
    return result
  }
}
