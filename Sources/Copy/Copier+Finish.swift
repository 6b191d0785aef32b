import Catalog
import Foundation
import Plan
import PostgresDriver
import Provision

extension Copier {
  /// Each service's count of post-data steps, and of foreign keys to other services' tables, left out.
  func countSchemaSteps(_ context: CopyContext, states: [ServiceState], summary: inout CopySummary) {
    for (index, state) in states.enumerated() {
      summary.services[index].schemaSteps = context.archive.postData.filter(state.selection.includes).count
      let owned = Set(state.plan.tables)
      summary.services[index].skippedForeignKeys =
        context.catalog.foreignKeys.filter { owned.contains($0.table) && !owned.contains($0.referencedTable) }.count
    }
  }

  /// The `finish` phase: the projections' renames and drops, the moves of staged services into their shared
  /// databases, and each service's copy recorded as an outcome in its own database under the key it was made
  /// for (a recopy cleared the old record with the database).
  func finishPhase(_ context: CopyContext, states: [ServiceState], workers: [CopyWorker]) async throws {
    for state in states {
      try await TransformFinisher(service: state.plan, catalog: context.catalog).run(admin: state.admin)
      await state.admin.close()
    }
    for state in states where state.plan.schema != nil {
      guard let shared = provisioned.first(where: { $0.name == state.plan.name }) else { continue }
      for worker in workers { await worker.closeTarget(state.plan.name) }
      try await SchemaMove(
        service: state.plan, staging: state.target, shared: shared, identity: plan.identity,
        workDirectory: context.workDirectory,
        fingerprint: ServiceFingerprint(service: state.plan, catalog: context.catalog)
      ).run()
    }
    for worker in workers { await worker.closeAll() }
    for (service, _) in chosen {
      let key = service.outcomeKey(plan.identity)
      if await OutcomeStore.read(service)["copy"]?.key != key {
        try await OutcomeStore.record("copy", service: service, passed: true, key: key)
      }
    }
  }

  /// The `analyze` phase, for services in a schema of a shared database: statistics for that schema's tables.
  ///
  /// They are gathered once the tables are moved there (the planner knows nothing of a freshly loaded table until
  /// autovacuum gets to it, which pgcopydb's `VACUUM ANALYZE` also saves its users from). A service with a database
  /// of its own had each table analyzed as soon as its indexes were built, in the overlapped work.
  func analyzePhase() async throws {
    for (service, target) in chosen {
      guard let schema = service.schema else { continue }
      let connection = try await SerialConnection.connect(target.database)
      defer { Task { await connection.close() } }
      let tables = try await connection.query(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = $1 ORDER BY 1", [schema]
      ).rows.compactMap { $0.first ?? nil }
      for table in tables { try await connection.execute("ANALYZE \(table)") }
    }
  }
}
