import Catalog
import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver
import PostgresTools
import Provision

/// Runs `cleave copy`: one snapshot of the source, each service's schema from `pg_dump`, its data streamed by
/// COPY in parallel, its sequences, then its indexes, constraints and triggers; resumable at every step.
///
/// The order per service database: pre-data (types, functions, tables, sequences) in one transaction with the
/// transform's column changes; sequences; then one graph of tasks (`WorkGraph`): data (one transaction per table
/// or key range), each table's indexes and keys as soon as its rows are in, foreign keys within the service once
/// both tables are keyed, triggers, and each table's `ANALYZE`, each step in its own transaction; the snapshot is
/// let go when the last rows are in; last, the transform's renames and drops. Every step records itself in
/// `_cleave.progress` in its own transaction (`ProgressStore`), so a rerun after a crash redoes exactly the steps
/// that did not finish.
///
/// `run()` is seven named phases, each timed in the summary: `snapshot` (the snapshot, the catalog and the schema
/// dump, `CopyContext`), `schema` (each service's tables, after checking what an earlier run made them for),
/// `sequences`, `data` (until the last rows are in) and `post-data` (the indexes, keys and statistics still
/// building then), `finish` (the transforms' renames and drops, the moves into shared databases, and each
/// service's outcome) and `analyze` (statistics for services moved into a schema of a shared database).
public struct Copier: Sendable {
  public var plan: SplitPlan
  public var provisioned: [ProvisionedService]
  /// How many tables or ranges are copied at once.
  public var jobs: Int
  /// Whether tables whose types allow it travel as binary COPY (`CopyFormat`); false forces text everywhere.
  public var binaryCopy = true
  /// Where the run keeps its temporary files (the schema dump), in a folder of its own removed when it ends.
  public var workDirectory: String
  /// Whether a table's indexes, keys and statistics start as soon as its rows are in; false holds them until every
  /// table's rows are in (as `pg_restore` does), which the benchmark uses to time the rows alone.
  public var overlap = true
  /// The memory the index and key builds running at once may use on a target, shared between them.
  ///
  /// Nil leaves each build the target's `maintenance_work_mem`; a build never gets less than that setting.
  public var indexMemory: Int64?
  /// Tables larger than this are split into ranges of their integer primary key.
  public var splitBytes: Int64
  public var reporter: any CopyProgress
  /// A snapshot exported and held open elsewhere (`cleave snapshot`) to copy from, instead of a new one.
  public var snapshot: String?
  /// Services copied again from the start: what earlier runs copied for them is dropped first (`--recopy`).
  public var recopy: Set<String> = []
  /// The services to copy (`--service`); empty means every service of the plan.
  public var only: Set<String> = []
  /// Where each phase is logged with its duration (and, at debug, each table or range).
  public var logger: Logger = .silent

  public init(
    plan: SplitPlan, provisioned: [ProvisionedService], jobs: Int, workDirectory: String,
    splitBytes: Int64 = 256 << 20, reporter: any CopyProgress, snapshot: String? = nil
  ) {
    self.snapshot = snapshot
    self.plan = plan
    self.provisioned = provisioned
    self.jobs = max(1, jobs)
    self.workDirectory = workDirectory
    self.splitBytes = splitBytes
    self.reporter = reporter
  }

  /// Copies every chosen service.
  ///
  /// - Returns: what was copied, per service and table.
  /// - Throws: `CleaveError` naming the service and table that failed; the source is never written to.
  public func run() async throws -> CopySummary {
    var timer = PhaseTimer()
    let context = try await logger.step("copy: snapshot, catalog and schema dump") { try await snapshotPhase() }
    defer { try? FileManager.default.removeItem(atPath: context.workDirectory) }
    timer.end("snapshot")
    var (states, moved) = try await logger.step("copy: schema (pg_dump pre-data)") {
      try await schemaPhase(context)
    }
    timer.end("schema")
    var summary = CopySummary(services: [])
    summary.largeObjectsNotCopied = try await countLargeObjects(context)
    let pending = try await dataJobs(context, states: &states, summary: &summary)
    try await logger.step("copy: sequences") {
      for (index, state) in states.enumerated() {
        summary.services[index].sequences = try await copySequences(
          state, catalog: context.catalog, reader: context.reader)
      }
    }
    timer.end("sequences")
    countSchemaSteps(context, states: states, summary: &summary)
    let graph = try await workGraph(context, states: states, pending: pending, origin: timer.origin)
    let workers = try await openWorkers(source: plan.source, snapshot: context.snapshot.id)
    // Rows, then each table's indexes, keys and statistics as soon as its rows are in, all on the same workers.
    let dataEnd = try await logger.step(
      "copy: data, indexes, constraints and statistics, \(await graph.count) steps on \(workers.count) workers"
    ) {
      try await workPhase(graph, context: context, workers: workers, summary: &summary)
    }
    timer.end("data", at: dataEnd)
    timer.end("post-data")
    try await logger.step("copy: finish (renames, drops, moves, outcomes)") {
      try await finishPhase(context, states: states, workers: workers)
    }
    timer.end("finish")
    try await logger.step("copy: analyze (services in shared databases)") { try await analyzePhase() }
    timer.end("analyze")
    summary.services += moved
    summary.seconds = timer.seconds
    summary.timeline = (timer.events + summary.timeline).sorted { $0.start < $1.start }
    return summary
  }

  /// The services this run copies: the plan's, or those `only` names, each with its provisioned database.
  var chosen: [(plan: ServicePlan, target: ProvisionedService)] {
    plan.services.compactMap { service in
      guard only.isEmpty || only.contains(service.name),
        let target = provisioned.first(where: { $0.name == service.name })
      else { return nil }
      return (service, target)
    }
  }
}
