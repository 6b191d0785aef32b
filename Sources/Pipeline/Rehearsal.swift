import Backup
import CleaveCore
import Copy
import Foundation
import Plan
import PostgresDriver
import PostgresTools
import Provision
import Rollback
import Verify

/// `cleave run --rehearse`: the whole split against a restore of the backup instead of the live source, timed
/// step by step, as the go/no-go figure for the real maintenance window; then everything it made is removed.
///
/// The backup is restored into `cleave_rehearsal_<random>` (marked `cleave: rehearsal`) on the plan's first
/// target. The services run under rehearsal names (`<service>_rehearsal`, databases `<database>_rehearsal`,
/// and so roles `<database>_rehearsal_owner` and `_app`), and their marks name the scratch database as their
/// source, so nothing collides with the real split; their passwords go to a secrets file of their own. The
/// live source is only read, by the backup.
public struct Rehearsal: Sendable {
  public var planPath: String
  public var environment: [String: String]
  public var jobs: Int

  public init(planPath: String, environment: [String: String], jobs: Int) {
    self.planPath = planPath
    self.environment = environment
    self.jobs = jobs
  }

  /// How long each step took, in order: backup (when a checked one was not there already), restore, provision,
  /// copy, verify, and the clean-up.
  public struct Timing: Sendable, Codable, Equatable {
    public var step: String
    public var seconds: Double
  }

  /// - Returns: each step's time.
  /// - Throws: the failing step's `CleaveError`; the rehearsal's objects are removed in any case.
  public func run() async throws -> [Timing] {
    var timings: [Timing] = []
    let clock = ContinuousClock()
    func timed<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
      let start = clock.now
      let result = try await body()
      let elapsed = clock.now - start
      timings.append(
        Timing(
          step: step,
          seconds: elapsed.inSeconds))
      return result
    }
    let plan = try await PlanLoader.resolve(path: planPath, environment: environment)
    let file = plan.file
    let folder = URL(fileURLWithPath: planPath).deletingLastPathComponent().path + "/.cleave"
    var backup = await RunBackup.current(for: plan)
    if backup == nil { backup = try await timed("backup") { try await RunBackup.make(for: plan) } }
    guard let backup, let target = file.targets.first else {
      throw CleaveError(.planMissingKey, "the plan has no target to rehearse on")
    }
    let server = ConnInfo(target.endpoint.url)
    let secrets = folder + "/rehearsal-secrets.env"
    var failure: (any Error)?
    do {
      try await ScratchDatabase.with(on: server, prefix: "cleave_rehearsal_", purpose: "rehearsal") { scratch in
        var rehearsed = file
        rehearsed.source.url = server.withDatabase(scratch).flattened
        for index in rehearsed.services.indices {
          rehearsed.services[index].name += "_rehearsal"
          rehearsed.services[index].database += "_rehearsal"
        }
        do {
          _ = try await timed("restore") {
            try await PostgresTool(
              "pg_restore", connectingTo: server.withDatabase(scratch),
              arguments: ["--no-owner", "--no-acl", "--exit-on-error", backup + "/" + BackupManifest.dumpName]
            ).run(what: "restoring the backup for the rehearsal")
          }
          let resolved = try await PlanLoader.resolve(path: rehearsed.path, environment: [:], file: rehearsed)
          let provisioned = try await timed("provision") {
            try await Provisioner(plan: resolved, secretsPath: secrets).provisionAll()
          }
          _ = try await timed("copy") {
            try await Copier(
              plan: resolved, provisioned: provisioned, jobs: jobs, workDirectory: NSTemporaryDirectory(),
              reporter: SilentProgress()
            ).run()
          }
          let summary = try await timed("verify") { try await Verifier(plan: resolved).run() }
          if !summary.passed {
            throw CleaveError(
              .verificationFailed, "the rehearsal's verify found differences: the real run would stop there too",
              hint: "run `cleave run` against a scratch copy and `cleave verify` for the report")
          }
        } catch {
          failure = error
        }
        // What the rehearsal made is removed whether it succeeded or not; the scratch database goes after it.
        try await timed("clean-up") {
          if let resolved = try? await PlanLoader.resolve(path: rehearsed.path, environment: [:], file: rehearsed) {
            let rollback = Rollback(plan: resolved, services: [], secretsPath: secrets)
            if let steps = try? await rollback.plan() { try? await rollback.run(steps) }
          }
        }
      }
    } catch {
      failure = failure ?? error
    }
    if let failure { throw failure }
    return timings
  }
}
