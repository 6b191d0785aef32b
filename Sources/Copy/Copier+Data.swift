import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import Provision

extension Copier {
  /// How many large objects the source has: they belong to no table, so none is copied, and the copy says so.
  func countLargeObjects(_ context: CopyContext) async throws -> Int {
    let count =
      Int(try await context.reader.query("SELECT count(*) FROM pg_largeobject_metadata").scalar ?? "0") ?? 0
    if count > 0 {
      await reporter.say("warning: the source has \(count) large objects; they belong to no table and are not copied")
    }
    return count
  }

  /// The jobs still to do, per service and table: a table whose rows an earlier run copied under another filter
  /// or re-key is forgotten and copied again; what is done is counted in the summary as resumed.
  func dataJobs(_ context: CopyContext, states: inout [ServiceState], summary: inout CopySummary) async throws
    -> [(TableJob, ConnInfo)]
  {
    var pending: [(TableJob, ConnInfo)] = []
    let sourceMajor = try await CopyFormat.major(of: context.reader)
    for index in states.indices {
      var state = states[index]
      defer { states[index] = state }
      var tables: [CopySummary.TableResult] = []
      var mine: [TableJob] = []
      let targetMajor = try await CopyFormat.major(of: state.admin)
      // A table is split only when its rows alone would outlast an even share of the service's work (its tables'
      // rows and indexes, over the workers): otherwise whole tables keep the workers busy and load frozen.
      let share =
        state.plan.tables.reduce(Int64(0)) { $0 + (context.catalog.table($1)?.sizeBytes ?? 0) } / Int64(jobs)
      for name in state.plan.tables {
        guard let table = context.catalog.table(name), table.kind == .ordinary else { continue }
        let select = TableProjection(table: table, service: state.plan, catalog: context.catalog)
        let format = try await CopyFormat.decide(
          select, sourceMajor: sourceMajor, targetMajor: targetMajor, allowBinary: binaryCopy, on: context.reader)
        try await checkRekeys(select, service: state.plan.name, reader: context.reader)
        var jobs = try await splitJobs(
          select, service: state.plan.name, table: table, format: format, share: share, reader: context.reader,
          admin: state.admin, finished: state.finished)
        if jobs.contains(where: { job in state.finished[job.step].map { $0.detail != job.signature } ?? false }) {
          try await forget(table: table.name, service: state.plan.name, admin: state.admin, finished: &state.finished)
          jobs = try await splitJobs(
            select, service: state.plan.name, table: table, format: format, share: share, reader: context.reader,
            admin: state.admin, finished: state.finished)
        }
        let done = jobs.filter { state.finished[$0.step] != nil }
        let rows = done.reduce(0) { $0 + (state.finished[$1.step]?.rows ?? 0) }
        let bytes = done.reduce(0) { $0 + (state.finished[$1.step]?.bytes ?? 0) }
        tables.append(
          .init(
            table: name, rows: rows, bytes: bytes, resumed: !done.isEmpty,
            format: jobs.count > done.count ? format : nil))
        mine += jobs.filter { state.finished[$0.step] == nil }
      }
      pending += mine.map { ($0, state.target.database) }
      await reporter.plan(
        service: state.plan.name, tables: Set(mine.map(\.table)).count, jobs: mine.count,
        bytes: mine.reduce(0) { $0 + $1.estimatedBytes })
      summary.services.append(
        .init(
          name: state.plan.name,
          database: state.plan.schema.map { "\(state.plan.database) (schema \($0))" } ?? state.target.databaseName,
          tables: tables, schemaSteps: 0, sequences: 0, skippedForeignKeys: 0))
    }
    return pending
  }

  func openWorkers(source: ConnInfo, snapshot: String) async throws -> [CopyWorker] {
    var workers: [CopyWorker] = []
    for _ in 0..<jobs {
      let worker = CopyWorker()
      try await worker.open(source: source, snapshot: snapshot)
      workers.append(worker)
    }
    return workers
  }

  /// Forgets a table whose rows an earlier run copied under another plan (its filter or re-key changed).
  ///
  /// Its rows and progress steps go, in one transaction, so it is copied again whole. Its columns must not have changed: the
  /// schema step made them, and redoing it means starting the service over.
  func forget(
    table: QualifiedName, service: String, admin: SerialConnection, finished: inout [String: ProgressStore.Step]
  ) async throws {
    do {
      try await admin.execute("BEGIN")
      try await admin.execute("DELETE FROM ONLY \(table.quoted)")
      try await admin.query(
        // Not LIKE: a `_` in a table's name would match another table's ranges.
        "DELETE FROM _cleave.progress WHERE step = $1 OR left(step, length($2)) = $2 OR step = $3",
        ["data \(table)", "data \(table) ", "split \(table)"])
      try await admin.execute("COMMIT")
    } catch {
      try? await admin.execute("ROLLBACK")
      throw CleaveError(
        .copyFailed,
        "the plan changed which rows of \(table) service \"\(service)\" gets, and its copied rows cannot be removed",
        hint: "drop the service's database and copy again", cause: error)
    }
    for step in finished.keys
    where step == "data \(table)" || step.hasPrefix("data \(table) ") || step == "split \(table)" {
      finished[step] = nil
    }
  }

  /// Fails before any row moves when a re-key cannot map a value (`on_missing: error`) or its lookup table
  /// holds a key twice.
  func checkRekeys(_ select: TableProjection, service: String, reader: SerialConnection) async throws {
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
  /// A table is split when its rows (heap and TOAST, `Table.rowBytes`) are larger than `splitBytes` and than `share` (an
  /// even share of the service's work over the workers; with one worker, `splitBytes` alone decides), and it has a
  /// single-column integer primary key. The
  /// ranges are recorded before any is copied, so a rerun uses the same ranges.
  func splitJobs(
    _ select: TableProjection, service: String, table: Table, format: CopyFormat, share: Int64,
    reader: SerialConnection, admin: SerialConnection, finished: [String: ProgressStore.Step]
  ) async throws -> [TableJob] {
    let rowBytes = table.rowBytes
    let base = "data \(table.name)"
    func job(_ step: String, _ range: String?, _ bytes: Int64) -> TableJob {
      var job = TableJob(
        service: service, table: table.name, copyOut: select.select(range: range), copyIn: select.copyIn, step: step,
        estimatedBytes: bytes)
      job.freezes = range == nil
      job.format = format
      return job
    }
    let splitStep = "split \(table.name)"
    // What an earlier run decided wins over this run's `--split-mb`: a table copied whole stays whole, and a
    // table split into ranges keeps exactly those ranges, so no row is copied by two different jobs.
    let recorded = try RecordedCut.of(table.name, in: finished, service: service, planPath: plan.file.path)
    if recorded == .whole { return [job(base, nil, rowBytes)] }
    // With one worker, ranges only let a killed copy resume at the range it was in: every table over `splitBytes`
    // is split.
    guard recorded != .none || (rowBytes > splitBytes && (jobs == 1 || rowBytes > share)), let key = table.primaryKey,
      key.columns.count == 1,
      let column = table.column(key.columns[0]), ["smallint", "integer", "bigint"].contains(column.type)
    else {
      if recorded != .none {
        throw CleaveError(
          .sourceSchemaChanged,
          "service \"\(service)\": \(table.name) was being copied in ranges of its primary key, which is no longer a "
            + "single integer column in the source",
          hint: "copy the service again from the start: `cleave copy --recopy \(service)`")
      }
      return [job(base, nil, rowBytes)]
    }
    let count = Int(min(64, (rowBytes + splitBytes - 1) / splitBytes))
    var bounds: [Int64]
    if case .ranges(let recordedBounds) = recorded {
      bounds = recordedBounds
    } else {
      let quoted = QualifiedName.quote(column.name)
      let extent = try await reader.query(
        "SELECT min(\(quoted))::int8, max(\(quoted))::int8 FROM ONLY \(table.name.quoted)")
      guard let low = extent.rows.first?[0].flatMap({ Int64($0) }),
        let high = extent.rows.first?[1].flatMap({ Int64($0) })
      else { return [job(base, nil, rowBytes)] }
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
        job("\(base) \(index + 1)/\(total)", parts.joined(separator: " AND "), rowBytes / Int64(total)))
    }
    // The first range may empty the table and load frozen only while no other range is in: it would erase them.
    jobs[0].freezes = !jobs.dropFirst().contains { finished[$0.step] != nil }
    return jobs
  }

  /// Sets each sequence the service uses to the source's state in the snapshot (`last_value`, `is_called`).
  func copySequences(_ state: ServiceState, catalog: DatabaseCatalog, reader: SerialConnection) async throws
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
          .copyFailed, "setting sequence \(sequence.name) of service \"\(state.plan.name)\" failed", cause: error)
      }
    }
    return count
  }
}
