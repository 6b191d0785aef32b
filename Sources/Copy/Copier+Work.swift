import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver

extension Copier {
  /// The work after the schema as one graph (`WorkGraph`): every data job; every post-data step, needing the rows
  /// of its tables (a foreign key also the keys of both tables, an attachment every index, the rest everything
  /// before it); and, for a service with a database of its own, each table's statistics once nothing else will
  /// lock it.
  func workGraph(
    _ context: CopyContext, states: [ServiceState], pending: [(TableJob, ConnInfo)], origin: ContinuousClock.Instant
  ) async throws -> WorkGraph {
    let graph = WorkGraph(origin: origin)
    var rowsByService: [String: [QualifiedName: Set<Int>]] = [:]
    // A table's first range, when it empties the table and loads frozen, goes before its other ranges.
    var first: [String: Int] = [:]
    for (job, target) in pending {
      let key = job.tableKey
      let needs: Set<Int> = job.freezes ? [] : first[key].map { [$0] } ?? []
      let id = await graph.add(.data(job, target), needs: needs, cost: Double(job.estimatedBytes))
      if job.freezes { first[key] = id }
      rowsByService[job.service, default: [:]][job.table, default: []].insert(id)
    }
    // Without overlap (`overlap` false, for measuring the rows alone), nothing else starts before every row is in.
    let everyRow: Set<Int> =
      overlap
      ? [] : rowsByService.values.reduce(into: []) { all, tables in for ids in tables.values { all.formUnion(ids) } }
    for state in states {
      let service = state.plan.name
      let data = rowsByService[service] ?? [:]
      let allData = data.values.reduce(into: Set<Int>()) { $0.formUnion($1) }
      func rows(of tables: Set<QualifiedName>) -> Set<Int> {
        tables.reduce(into: Set<Int>()) { $0.formUnion(data[$1] ?? []) }
      }
      let steps = try await PostDataSteps.pending(
        archive: context.archive, state: state, catalog: context.catalog, reader: context.reader)
      if !steps.isEmpty {
        await reporter.say(
          "\(service): \(steps.count) indexes, constraints and triggers to create, each once its tables are copied")
      }
      var builds: [(id: Int, tables: Set<QualifiedName>)] = []
      var keyed: [QualifiedName: Set<Int>] = [:]  // every step on a table but its statistics
      var allBuilds: Set<Int> = []
      var previous: Set<Int> = []
      func add(_ step: PostDataStep, needs: Set<Int>, weight: Double) async -> Int {
        let id = await graph.add(.step(step), needs: needs.union(everyRow), cost: Double(step.cost) * weight)
        for table in step.tables { keyed[table, default: []].insert(id) }
        return id
      }
      // A key built as a unique index and then attached holds a share lock on its table and then asks for an
      // exclusive one: two of them on one table at once would deadlock, so they go one after the other.
      var lastKey: [QualifiedName: Int] = [:]
      for step in steps where step.role == .build {
        var needs = step.onPartitionedTable ? allData : rows(of: step.tables)
        if step.replacement != nil { needs.formUnion(step.tables.compactMap { lastKey[$0] }) }
        let id = await add(step, needs: needs, weight: 0.5)
        if step.replacement != nil { for table in step.tables { lastKey[table] = id } }
        builds.append((id, step.tables))
        allBuilds.insert(id)
      }
      func buildsOn(_ tables: Set<QualifiedName>) -> Set<Int> {
        Set(builds.filter { !$0.tables.isDisjoint(with: tables) }.map(\.id))
      }
      var attaches: Set<Int> = []
      for step in steps where step.role == .attach {
        attaches.insert(await add(step, needs: allData.union(allBuilds), weight: 0))
      }
      var later: Set<Int> = []
      for step in steps where step.role == .foreignKey || step.role == .trigger {
        // A foreign key or trigger locks its tables against index builds: it waits for theirs.
        let needs =
          step.onPartitionedTable
          ? allData.union(allBuilds).union(attaches) : rows(of: step.tables).union(buildsOn(step.tables))
        later.insert(await add(step, needs: needs, weight: step.role == .foreignKey ? 0.3 : 0))
      }
      // The rest (comments on indexes and keys, rules, policies, materialized views' data) in archive order, one at
      // a time, after everything else: one may be on an object another made.
      for step in steps where step.role == .other {
        let id = await add(
          step, needs: allData.union(allBuilds).union(attaches).union(later).union(previous), weight: 0)
        previous = [id]
      }
      guard state.plan.schema == nil else { continue }  // analyzed after the move into its shared database
      for name in state.plan.tables {
        guard let table = context.catalog.table(name), table.kind != .foreign else { continue }
        let needs =
          table.kind == .partitioned
          ? allData.union(allBuilds).union(attaches).union(later) : rows(of: [name]).union(keyed[name] ?? [])
        await graph.add(
          .analyze(service: service, table: name, target: state.target.database), needs: needs.union(everyRow), cost: 0)
      }
      // A materialized view the service keeps gets its rows from the last steps (`REFRESH`): analyzed after them.
      for view in context.catalog.views
      where view.kind == .materialized && state.selection.relations.contains(view.name) {
        let everything = allData.union(allBuilds).union(attaches).union(later).union(previous)
        await graph.add(
          .analyze(service: service, table: view.name, target: state.target.database),
          needs: everything.union(everyRow),
          cost: 0)
      }
    }
    await graph.seal()
    return graph
  }

  /// The overlapped work: the workers take tasks from the graph until none is left; when the last rows are in,
  /// the progress line stops and the snapshot is let go, so the source's vacuum is not held by the index builds.
  ///
  /// - Returns: when the last data task finished, and each table's rows and bytes copied.
  func workPhase(
    _ graph: WorkGraph, context: CopyContext, workers: [CopyWorker], summary: inout CopySummary
  ) async throws -> ContinuousClock.Instant {
    let reporter = self.reporter
    let logger = self.logger
    let settings = buildSettings
    let results = try await withThrowingTaskGroup(of: [(String, QualifiedName, Int, Int)].self) { group in
      group.addTask {
        await graph.waitForData()
        await reporter.stop()
        await context.release()
        for worker in workers { await worker.closeSource() }
        return []
      }
      for (number, worker) in workers.enumerated() {
        group.addTask {
          var done: [(String, QualifiedName, Int, Int)] = []
          do {
            while let (index, task) = await graph.next(worker: number) {
              switch task {
              case .data(let job, let target):
                await reporter.started(service: job.service, table: job.table.description)
                let (rows, bytes) = try await worker.copy(job, into: target, counters: reporter.bytes)
                let tableDone = await graph.finished(index)
                await reporter.finished(
                  service: job.service, table: job.table.description, rows: rows, bytes: bytes, tableDone: tableDone)
                logger.debug("copy: \(job.step) of service \(job.service): \(rows) rows, \(bytes) bytes")
                done.append((job.service, job.table, rows, bytes))
                continue  // marked finished above, where its table's last range was told
              case .step(let step):
                var sql = step.replacement ?? ""
                if step.replacement == nil {
                  sql = try await context.archive.sql(
                    of: step.entry, listFile: context.workDirectory + "/\(step.service)-entry-\(step.entry.dumpID).list"
                  )
                }
                try await worker.run(
                  sql, step: step.step, service: step.service, into: step.target,
                  settings: step.role == .build ? settings : step.role == .foreignKey ? Self.foreignKeySettings : nil)
              case .analyze(let service, let table, let target):
                try await worker.analyze(table, service: service, into: target)
              }
              await graph.finished(index)
            }
          } catch {
            await graph.abandon()
            throw error
          }
          return done
        }
      }
      var all: [(String, QualifiedName, Int, Int)] = []
      for try await done in group { all += done }
      return all
    }
    let left = await graph.unfinished
    guard left.isEmpty else {
      throw CleaveError(
        .copyFailed, "\(left.count) steps of the copy could not start: " + left.map(\.label).joined(separator: ", "),
        hint: "run the same command again; if it stops here again, report it with the plan file")
    }
    for (service, table, rows, bytes) in results {
      guard let s = summary.services.firstIndex(where: { $0.name == service }),
        let t = summary.services[s].tables.firstIndex(where: { $0.table == table })
      else { continue }
      summary.services[s].tables[t].rows += rows
      summary.services[s].tables[t].bytes += bytes
    }
    summary.timeline += await graph.timeline
    return await graph.dataEnd ?? ContinuousClock.now
  }

  /// The foreign key's check of every row (PostgreSQL's `RI_Initial_Check`, one hash anti-join) runs with
  /// `maintenance_work_mem` as its `work_mem`: at 4 MB the hash table is built in batches that fit the CPU's cache,
  /// which measured 1.8 s against 3.8 s at 512 MB for 6M rows referencing 2M (docs/copy.md).
  static let foreignKeySettings = "SET LOCAL maintenance_work_mem = '4MB'"

  /// `SET LOCAL` statements for an index or key build: the memory budget shared by the builds that may run at once,
  /// never less than the target's own setting; nil when the user gave no budget.
  var buildSettings: String? {
    guard let indexMemory else { return nil }
    let each = max(64 << 20, indexMemory / Int64(jobs))
    return "SELECT pg_catalog.set_config('maintenance_work_mem', (greatest(pg_catalog.pg_size_bytes("
      + "pg_catalog.current_setting('maintenance_work_mem')), \(each)) / 1024)::text || 'kB', true)"
  }
}
