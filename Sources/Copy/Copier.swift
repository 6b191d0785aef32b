import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools
import Provision

/// Runs `cleave copy`: one snapshot of the source, each service's schema from `pg_dump`, its data streamed by
/// COPY in parallel, its sequences, then its indexes, constraints and triggers; resumable at every step.
///
/// The order per service database: pre-data (types, functions, tables, sequences) in one transaction with the
/// transform's column changes; data (one transaction per table or key range); sequences; the snapshot is let
/// go; post-data (indexes, constraints, foreign keys within the service, triggers), each in its own transaction;
/// last, the transform's renames and drops. Every step records itself in `_cleave.progress` in its own
/// transaction (`ProgressStore`), so a rerun after a crash redoes exactly the steps that did not finish.
public struct Copier: Sendable {
  public var plan: SplitPlan
  public var provisioned: [ProvisionedService]
  /// How many tables or ranges are copied at once.
  public var jobs: Int
  /// Where the run keeps its temporary files (the schema dump), in a folder of its own removed when it ends.
  public var workDirectory: String
  /// Tables larger than this are split into ranges of their integer primary key.
  public var splitBytes: Int64
  public var reporter: any CopyProgress
  /// A snapshot exported and held open elsewhere (`cleave snapshot`) to copy from, instead of a new one.
  public var snapshot: String?
  /// Services copied again from the start: what earlier runs copied for them is dropped first (`--recopy`).
  public var recopy: Set<String> = []

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

  /// Copies every service.
  ///
  /// - Returns: what was copied, per service and table.
  /// - Throws: `CleaveError` naming the service and table that failed; the source is never written to.
  public func run() async throws -> CopySummary {
    let source = plan.source
    let clock = ContinuousClock()
    var phaseStart = clock.now
    var seconds: [String: Double] = [:]
    func endPhase(_ name: String) {
      let elapsed = clock.now - phaseStart
      seconds[name] = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      phaseStart = clock.now
    }
    // Nothing local outlives the run: the schema is dumped afresh in this run's snapshot, into a folder of its
    // own, so no other plan, source or earlier state of the source can leak into it.
    let workDirectory = self.workDirectory + "/cleave-copy-" + UUID().uuidString.prefix(8).lowercased()
    do {
      try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
    } catch {
      throw CleaveError(
        .fileWriteFailed, "cannot create the work directory \(workDirectory): \(error.localizedDescription)")
    }
    defer { try? FileManager.default.removeItem(atPath: workDirectory) }
    let snapshot =
      if let id = self.snapshot {
        try await SourceSnapshot.adopt(id, from: source)
      } else {
        try await SourceSnapshot.export(from: source)
      }
    let reader = try await snapshot.join(source)
    let catalog = try await CatalogReader(connection: reader).read(inOpenTransaction: true)
    let archive = try await SchemaArchive.dump(source: source, snapshot: snapshot.id, directory: workDirectory)

    var states: [ServiceState] = []
    var moved: [CopySummary.ServiceResult] = []
    for service in plan.services {
      guard var target = provisioned.first(where: { $0.name == service.name }) else { continue }
      let fingerprint = ServiceFingerprint(service: service, catalog: catalog)
      let again = recopy.contains(service.name)
      if service.schema != nil {
        if again {
          try await SchemaMove.forget(service, shared: target)
        } else if let done = try await SchemaMove.finished(service, shared: target) {
          try Self.checkUnchanged(service, recorded: done.fingerprint, now: fingerprint, planPath: plan.file.path)
          moved.append(done.result)
          continue
        }
      }
      if service.schema != nil {
        // Staged in a private database first; `SchemaMove` puts it into its schema at the end.
        target = try await StagingDatabase.ensure(for: service, identity: plan.identity, roles: target.roles)
      }
      let selection = try await SchemaSelection.compute(tables: service.tables, catalog: catalog, snapshot: reader)
      let admin: SerialConnection
      do { admin = try await SerialConnection.connect(target.database) } catch {
        throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
      }
      // A recopy starts from an empty database: the pre-data step clears it, progress included.
      var finished = again ? [:] : try await ProgressStore.finished(in: admin)
      if finished["pre-data"] != nil, let recorded = finished[ServiceFingerprint.step]?.detail {
        try Self.checkUnchanged(
          service, recorded: ServiceFingerprint(recorded: recorded), now: fingerprint, planPath: plan.file.path)
      }
      if finished["pre-data"] == nil {
        await reporter.say("\(service.name): creating tables, types and functions (pg_dump pre-data)")
        try await PreDataRestore(
          archive: archive, selection: selection, service: service, target: target, catalog: catalog,
          workDirectory: workDirectory, fingerprint: fingerprint
        ).run(admin: admin)
        finished = try await ProgressStore.finished(in: admin)
      }
      states.append(
        ServiceState(
          plan: service, target: target, selection: selection, admin: admin, finished: finished))
    }

    endPhase("schema")
    var summary = CopySummary(services: [])
    summary.largeObjectsNotCopied =
      Int(
        try await reader.query("SELECT count(*) FROM pg_largeobject_metadata").scalar ?? "0") ?? 0
    if summary.largeObjectsNotCopied > 0 {
      await reporter.say(
        "warning: the source has \(summary.largeObjectsNotCopied) large objects; they belong to no table and are not copied"
      )
    }
    var pending: [(TableJob, ConnInfo)] = []
    for index in states.indices {
      var state = states[index]
      defer { states[index] = state }
      var tables: [CopySummary.TableResult] = []
      for name in state.plan.tables {
        guard let table = catalog.table(name), table.kind == .ordinary else { continue }
        let select = TableProjection(table: table, service: state.plan, catalog: catalog)
        try await checkRekeys(select, service: state.plan.name, reader: reader)
        var jobs = try await splitJobs(
          select, service: state.plan.name, table: table, reader: reader, admin: state.admin, finished: state.finished)
        if jobs.contains(where: { job in state.finished[job.step].map { $0.detail != job.signature } ?? false }) {
          try await forget(table: table.name, service: state.plan.name, admin: state.admin, finished: &state.finished)
          jobs = try await splitJobs(
            select, service: state.plan.name, table: table, reader: reader, admin: state.admin, finished: state.finished
          )
        }
        let done = jobs.filter { state.finished[$0.step] != nil }
        let rows = done.reduce(0) { $0 + (state.finished[$1.step]?.rows ?? 0) }
        let bytes = done.reduce(0) { $0 + (state.finished[$1.step]?.bytes ?? 0) }
        tables.append(.init(table: name, rows: rows, bytes: bytes, resumed: !done.isEmpty))
        for job in jobs where state.finished[job.step] == nil { pending.append((job, state.target.database)) }
      }
      let mine = pending.filter { $0.0.service == state.plan.name }
      await reporter.plan(
        service: state.plan.name, jobs: mine.count, bytes: mine.reduce(0) { $0 + $1.0.estimatedBytes })
      summary.services.append(
        .init(
          name: state.plan.name,
          database: state.plan.schema.map { "\(state.plan.database) (schema \($0))" } ?? state.target.databaseName,
          tables: tables, schemaSteps: 0, sequences: 0, skippedForeignKeys: 0))
    }

    let workers = try await openWorkers(source: source, snapshot: snapshot.id)
    let results = try await copyData(pending, workers: workers)
    for (service, table, rows, bytes) in results {
      guard let s = summary.services.firstIndex(where: { $0.name == service }),
        let t = summary.services[s].tables.firstIndex(where: { $0.table == table })
      else { continue }
      summary.services[s].tables[t].rows += rows
      summary.services[s].tables[t].bytes += bytes
    }
    for (index, state) in states.enumerated() {
      summary.services[index].sequences = try await copySequences(state, catalog: catalog, reader: reader)
    }
    await reporter.stop()
    endPhase("data")
    // The data is read: let the snapshot go before the long index builds, so the source's vacuum is not held.
    for worker in workers { await worker.closeSource() }
    try? await reader.execute("COMMIT")
    await reader.close()
    await snapshot.release()

    for (index, state) in states.enumerated() {
      summary.services[index].schemaSteps = try await PostDataRestore(
        archive: archive, selection: state.selection, state: state, workDirectory: workDirectory, reporter: reporter
      ).run(workers: workers)
      let owned = Set(state.plan.tables)
      summary.services[index].skippedForeignKeys =
        catalog.foreignKeys.filter { owned.contains($0.table) && !owned.contains($0.referencedTable) }.count
      try await TransformFinisher(service: state.plan, catalog: catalog).run(admin: state.admin)
      await state.admin.close()
    }
    for state in states where state.plan.schema != nil {
      guard let shared = provisioned.first(where: { $0.name == state.plan.name }) else { continue }
      for worker in workers { await worker.closeTarget(state.plan.name) }
      try await SchemaMove(
        service: state.plan, staging: state.target, shared: shared, identity: plan.identity,
        workDirectory: workDirectory, fingerprint: ServiceFingerprint(service: state.plan, catalog: catalog)
      ).run()
    }
    for worker in workers { await worker.closeAll() }
    // Each service's copy is recorded as an outcome in its own database, under the key it was made for; a
    // recopy cleared the old record with the database.
    for service in plan.services where provisioned.contains(where: { $0.name == service.name }) {
      let key = service.outcomeKey(plan.identity)
      if await OutcomeStore.read(service)["copy"]?.key != key {
        try await OutcomeStore.record("copy", service: service, passed: true, key: key)
      }
    }
    endPhase("post-data")
    summary.services += moved
    summary.seconds = seconds
    return summary
  }

  private func openWorkers(source: ConnInfo, snapshot: String) async throws -> [CopyWorker] {
    var workers: [CopyWorker] = []
    for _ in 0..<jobs {
      let worker = CopyWorker()
      try await worker.open(source: source, snapshot: snapshot)
      workers.append(worker)
    }
    return workers
  }

  /// Runs the jobs on the workers, largest first, each worker taking the next job as it finishes one.
  private func copyData(_ jobs: [(TableJob, ConnInfo)], workers: [CopyWorker]) async throws -> [(
    String, QualifiedName, Int, Int
  )] {
    let queue = JobQueue(jobs.sorted { $0.0.estimatedBytes > $1.0.estimatedBytes })
    let reporter = self.reporter
    return try await withThrowingTaskGroup(of: [(String, QualifiedName, Int, Int)].self) { group in
      for worker in workers {
        group.addTask {
          var done: [(String, QualifiedName, Int, Int)] = []
          while let (job, target) = await queue.next() {
            let (rows, bytes) = try await worker.copy(job, into: target, counters: reporter.bytes)
            await reporter.finished(service: job.service, table: job.table.description, rows: rows, bytes: bytes)
            done.append((job.service, job.table, rows, bytes))
          }
          return done
        }
      }
      var all: [(String, QualifiedName, Int, Int)] = []
      for try await done in group { all += done }
      return all
    }
  }

  /// Fails when the service's tables were created for another shape of the source or the plan than now: a
  /// column added, dropped or retyped in the source, a table or a column transform added to the service.
  static func checkUnchanged(
    _ service: ServicePlan, recorded: ServiceFingerprint?, now: ServiceFingerprint, planPath: String
  ) throws(CleaveError) {
    guard let recorded, recorded != now else { return }
    let changes = now.changes(since: recorded)
    throw CleaveError(
      .sourceSchemaChanged,
      "service \"\(service.name)\": its tables were created in \(service.database) for a source and plan that have "
        + "changed since: " + changes.prefix(10).joined(separator: "; ") + (changes.count > 10 ? "; …" : ""),
      hint: "copy the service again from the start with `cleave copy -f \(planPath) --recopy \(service.name)` (it "
        + "drops what was copied for it), or undo the change")
  }

  /// Forgets a table whose rows an earlier run copied under another plan (its filter or re-key changed).
  ///
  /// Its rows and progress steps go, in one transaction, so it is copied again whole. Its columns must not have changed: the
  /// schema step made them, and redoing it means starting the service over.
  private func forget(
    table: QualifiedName, service: String, admin: SerialConnection, finished: inout [String: ProgressStore.Step]
  ) async throws {
    do {
      try await admin.execute("BEGIN")
      try await admin.execute("DELETE FROM ONLY \(table.quoted)")
      try await admin.query(
        "DELETE FROM _cleave.progress WHERE step = $1 OR step LIKE $2 OR step = $3",
        ["data \(table)", "data \(table) %", "split \(table)"])
      try await admin.execute("COMMIT")
    } catch {
      try? await admin.execute("ROLLBACK")
      throw CleaveError(
        .copyFailed,
        "the plan changed which rows of \(table) service \"\(service)\" gets, and its copied rows cannot be removed: \(error)",
        hint: "drop the service's database and copy again")
    }
    for step in finished.keys
    where step == "data \(table)" || step.hasPrefix("data \(table) ") || step == "split \(table)" {
      finished[step] = nil
    }
  }

  /// Fails before any row moves when a re-key cannot map a value (`on_missing: error`) or its lookup table
  /// holds a key twice.
  private func checkRekeys(_ select: TableProjection, service: String, reader: SerialConnection) async throws {
    for check in select.duplicateLookups() {
      if let value = try await reader.query(check.sql).scalar {
        throw CleaveError(
          .rekeyUnmatched,
          "service \"\(service)\": \(check.via).\(check.match) holds the value \(value) more than once, so re-keying "
            + "\(select.table.name) through it would copy rows twice",
          hint: "re-key through a column with unique values")
      }
    }
    for check in select.unmatchedRekeys() {
      let values = try await reader.query(check.sql).rows.compactMap { $0.first ?? nil }
      if !values.isEmpty {
        throw CleaveError(
          .rekeyUnmatched,
          "service \"\(service)\": \(select.table.name).\(check.column) has values with no row in \(check.via): "
            + values.joined(separator: ", "),
          hint: "fix the data, or set `on_missing: null` or `on_missing: keep` on this rekey")
      }
    }
  }

  /// One job for a table, or one per key range.
  ///
  /// A table is split when it is larger than `splitBytes` and has a single-column integer primary key. The ranges are recorded before any is copied, so a rerun uses the same ranges.
  private func splitJobs(
    _ select: TableProjection, service: String, table: Table, reader: SerialConnection, admin: SerialConnection,
    finished: [String: ProgressStore.Step]
  ) async throws -> [TableJob] {
    let base = "data \(table.name)"
    func job(_ step: String, _ range: String?, _ bytes: Int64) -> TableJob {
      TableJob(
        service: service, table: table.name, copyOut: select.select(range: range), copyIn: select.copyIn, step: step,
        estimatedBytes: bytes)
    }
    let splitStep = "split \(table.name)"
    // What an earlier run decided wins over this run's `--split-mb`: a table copied whole stays whole, and a
    // table split into ranges keeps exactly those ranges, so no row is copied by two different jobs.
    let recorded = finished[splitStep]?.detail
    if finished[base] != nil { return [job(base, nil, table.sizeBytes)] }
    guard recorded != nil || table.sizeBytes > splitBytes, let key = table.primaryKey, key.columns.count == 1,
      let column = table.column(key.columns[0]), ["smallint", "integer", "bigint"].contains(column.type)
    else {
      if recorded != nil {
        throw CleaveError(
          .sourceSchemaChanged,
          "service \"\(service)\": \(table.name) was being copied in ranges of its primary key, which is no longer a "
            + "single integer column in the source",
          hint: "copy the service again from the start: `cleave copy --recopy \(service)`")
      }
      return [job(base, nil, table.sizeBytes)]
    }
    let count = Int(min(64, (table.sizeBytes + splitBytes - 1) / splitBytes))
    var bounds: [Int64]
    if let recorded {
      bounds = recorded.split(separator: ",").compactMap { Int64($0) }
    } else {
      let quoted = QualifiedName.quote(column.name)
      let extent = try await reader.query(
        "SELECT min(\(quoted))::int8, max(\(quoted))::int8 FROM ONLY \(table.name.quoted)")
      guard let low = extent.rows.first?[0].flatMap({ Int64($0) }),
        let high = extent.rows.first?[1].flatMap({ Int64($0) })
      else { return [job(base, nil, table.sizeBytes)] }
      let span = max(1, (high - low + 1) / Int64(count))
      bounds = (1..<count).map { low + Int64($0) * span }
      let detail = bounds.map(String.init).joined(separator: ",")
      try await admin.query(
        "INSERT INTO _cleave.progress (step, detail) VALUES ($1, $2)", [splitStep, detail])
    }
    let quoted = QualifiedName.quote(column.name)
    var jobs: [TableJob] = []
    let total = bounds.count + 1
    for index in 0..<total {
      var parts: [String] = []
      if index > 0 { parts.append("\(quoted) >= \(bounds[index - 1])") }
      if index < bounds.count { parts.append("\(quoted) < \(bounds[index])") }
      jobs.append(
        job("\(base) \(index + 1)/\(total)", parts.joined(separator: " AND "), table.sizeBytes / Int64(total)))
    }
    return jobs
  }

  /// Sets each sequence the service uses to the source's state in the snapshot (`last_value`, `is_called`).
  private func copySequences(_ state: ServiceState, catalog: DatabaseCatalog, reader: SerialConnection) async throws
    -> Int
  {
    let kept = catalog.sequences.filter { state.selection.relations.contains($0.name) }
    var count = 0
    for sequence in kept {
      let step = "sequence \(sequence.name)"
      count += 1
      guard state.finished[step] == nil else { continue }
      let value = try await reader.query("SELECT last_value, is_called FROM \(sequence.name.quoted)").namedRows.first
      guard let value else { continue }
      let last = value.string("last_value")
      let called = value.bool("is_called") ? "true" : "false"
      do {
        try await state.admin.execute(
          "BEGIN; SELECT pg_catalog.setval(\(try await state.admin.quoteLiteral(sequence.name.quoted)), \(last), \(called)); "
            + "INSERT INTO _cleave.progress (step) VALUES (\(try await state.admin.quoteLiteral(step))); COMMIT")
      } catch {
        try? await state.admin.execute("ROLLBACK")
        throw CleaveError(
          .copyFailed, "setting sequence \(sequence.name) of service \"\(state.plan.name)\" failed: \(error)")
      }
    }
    return count
  }
}

/// A service on its way through the copy: its plan, its provisioned database, what it gets of the schema, and
/// what earlier runs finished.
struct ServiceState: Sendable {
  var plan: ServicePlan
  var target: ProvisionedService
  var selection: SchemaSelection
  var admin: SerialConnection
  var finished: [String: ProgressStore.Step]
}

/// Hands out jobs to workers, one at a time.
actor JobQueue {
  private var jobs: [(TableJob, ConnInfo)]
  init(_ jobs: [(TableJob, ConnInfo)]) { self.jobs = jobs.reversed() }
  func next() -> (TableJob, ConnInfo)? { jobs.popLast() }
}
