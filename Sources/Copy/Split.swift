import Catalog
import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver
import Provision

/// What `cleave provision` and `cleave copy` run: read the plan, resolve it against the source, then provision
/// the targets and, for copy, move the data.
public struct Split: Sendable {
  public var planPath: String
  public var environment: [String: String]
  public var secretsPath: String
  /// A plan already read (and perhaps rewritten, as `cleave run --rehearse` does); nil reads `planPath`.
  public var file: PlanFile?
  /// Where every step is logged, with its duration.
  public var logger: Logger = .silent

  public init(planPath: String, environment: [String: String], secretsPath: String) {
    self.planPath = planPath
    self.environment = environment
    self.secretsPath = secretsPath
  }

  /// A split of a plan already read.
  public init(file: PlanFile, secretsPath: String) {
    self.planPath = file.path
    self.environment = [:]
    self.secretsPath = secretsPath
    self.file = file
  }

  /// The plan, resolved against the source's catalog.
  ///
  /// - Throws: `CleaveError` for a bad plan or an unreachable source.
  public func resolvedPlan() async throws -> SplitPlan {
    try await PlanLoader.resolve(path: planPath, environment: environment, file: file, logger: logger)
  }

  /// Creates every service's database and roles (a no-op for what exists already).
  public func provision() async throws -> [ProvisionedService] {
    var provisioner = Provisioner(plan: try await resolvedPlan(), secretsPath: secretsPath)
    provisioner.logger = logger
    return try await provisioner.provisionAll()
  }

  /// Provisions, then copies every service.
  ///
  /// - Parameters:
  ///   - jobs: tables or ranges copied at once.
  ///   - workDirectory: where the run keeps its temporary files (a folder of its own inside, removed at the end).
  ///   - splitBytes: tables larger than this (and than an even share of the work) are copied in key ranges.
  ///   - reporter: where progress goes.
  ///   - snapshot: a snapshot held open elsewhere to copy from (nil: export a new one).
  ///   - recopy: services to copy again from the start, dropping what earlier runs copied for them.
  ///   - only: the services to copy; empty means all of them.
  ///   - binary: whether tables whose types allow it travel as binary COPY (false: text everywhere).
  ///   - indexMemory: the memory the index builds running at once may use on a target (nil: its own setting).
  ///   - overlap: whether a table's indexes start as soon as its rows are in (false: after every table's rows).
  /// - Returns: what was copied.
  /// - Throws: `CleaveError` naming the service and table that failed.
  public func copy(
    jobs: Int, workDirectory: String, splitBytes: Int64, reporter: any CopyProgress, snapshot: String? = nil,
    recopy: Set<String> = [], only: Set<String> = [], binary: Bool = true, indexMemory: Int64? = nil,
    overlap: Bool = true
  ) async throws -> CopySummary {
    let plan = try await resolvedPlan()
    let names = plan.services.map(\.name)
    for (option, given) in [("--recopy", recopy), ("--service", only)] {
      for name in given.sorted() where !names.contains(name) {
        let guess = Spelling.closest(to: name, in: names).map { "did you mean `\($0)`? " } ?? ""
        throw CleaveError(
          .planInvalidName, "\(option) names service \"\(name)\", which the plan does not have",
          hint: guess + "services: " + names.joined(separator: ", "))
      }
    }
    var chosen = plan
    if !only.isEmpty { chosen.services = plan.services.filter { only.contains($0.name) } }
    var provisioner = Provisioner(plan: chosen, secretsPath: secretsPath)
    provisioner.logger = logger
    let provisioned = try await provisioner.provisionAll()
    var copier = Copier(
      plan: plan, provisioned: provisioned, jobs: jobs, workDirectory: workDirectory, splitBytes: splitBytes,
      reporter: reporter, snapshot: snapshot)
    copier.recopy = recopy
    copier.only = only
    copier.binaryCopy = binary
    copier.indexMemory = indexMemory
    copier.overlap = overlap
    copier.logger = logger
    return try await copier.run()
  }
}
