import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools
import Provision

extension Copier {
  /// The `snapshot` phase: a work folder of the run's own (nothing local outlives the run, so no other plan,
  /// source or earlier state of the source can leak in), the snapshot (exported now, or adopted from `cleave
  /// snapshot`), the catalog and the schema dump, both read in it.
  func snapshotPhase() async throws -> CopyContext {
    let workDirectory = self.workDirectory + "/cleave-copy-" + UUID().uuidString.prefix(8).lowercased()
    do {
      try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
    } catch {
      throw CleaveError(
        .fileWriteFailed, "cannot create the work directory \(workDirectory): \(error.localizedDescription)")
    }
    let snapshot =
      if let id = self.snapshot {
        try await SourceSnapshot.adopt(id, from: plan.source)
      } else {
        try await SourceSnapshot.export(from: plan.source)
      }
    let reader = try await snapshot.join(plan.source)
    let catalog = try await CatalogReader(connection: reader).read(inOpenTransaction: true)
    let archive = try await SchemaArchive.dump(source: plan.source, snapshot: snapshot.id, directory: workDirectory)
    return CopyContext(
      workDirectory: workDirectory, snapshot: snapshot, reader: reader, catalog: catalog, archive: archive)
  }

  /// The `schema` phase: each chosen service's tables, types and functions, unless an earlier run made them for
  /// the same shape of source and plan (a different shape stops the copy, CLV6005); a service already moved into
  /// its shared database is only counted.
  ///
  /// - Returns: the services still to copy, and those an earlier run finished moving.
  func schemaPhase(_ context: CopyContext) async throws -> ([ServiceState], [CopySummary.ServiceResult]) {
    var states: [ServiceState] = []
    var moved: [CopySummary.ServiceResult] = []
    for (service, provisioned) in chosen {
      var target = provisioned
      let fingerprint = ServiceFingerprint(service: service, catalog: context.catalog)
      let again = recopy.contains(service.name)
      if service.schema != nil {
        if again {
          try await SchemaMove.forget(service, shared: target)
        } else if let done = try await SchemaMove.finished(service, shared: target) {
          try Self.checkUnchanged(service, recorded: done.fingerprint, now: fingerprint, planPath: plan.file.path)
          moved.append(done.result)
          continue
        }
        // Staged in a private database first; `SchemaMove` puts it into its schema at the end.
        target = try await StagingDatabase.ensure(for: service, identity: plan.identity, roles: target.roles)
      }
      let selection = try await SchemaSelection.compute(
        service: service, catalog: context.catalog, snapshot: context.reader)
      // Every session of this copy on the target carries its name, so the next run can tell what it left.
      target.database = target.database.with("application_name", EarlierRun.applicationName(service.name))
      let admin: SerialConnection
      do { admin = try await SerialConnection.connect(target.database) } catch {
        throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
      }
      for session in try await EarlierRun.takeOver(service: service.name, admin: admin) {
        await reporter.say("\(service.name): stopped a session an earlier, killed copy left running: \(session)")
        logger.warning("stopped a session an earlier copy left running", metadata: ["session": "\(session)"])
      }
      // A recopy starts from an empty database: the pre-data step clears it, progress included.
      var finished =
        again ? [:] : try await ProgressStore.finished(in: admin, service: service.name, planPath: plan.file.path)
      if finished["pre-data"] != nil {
        // The shape is recorded in the same transaction as the tables: tables without it were not made by Cleave.
        guard let recorded = finished[ServiceFingerprint.step]?.detail else {
          throw ProgressStore.damaged(
            "the tables are recorded as created, but not the shape of the source they were created for",
            service: service.name, planPath: plan.file.path)
        }
        try Self.checkUnchanged(
          service, recorded: ServiceFingerprint(recorded: recorded), now: fingerprint, planPath: plan.file.path)
      }
      if finished["pre-data"] == nil {
        await reporter.say("\(service.name): creating tables, types and functions (pg_dump pre-data)")
        try await PreDataRestore(
          archive: context.archive, selection: selection, service: service, target: target,
          catalog: context.catalog, workDirectory: context.workDirectory, fingerprint: fingerprint
        ).run(admin: admin)
        finished = try await ProgressStore.finished(in: admin, service: service.name, planPath: plan.file.path)
      }
      states.append(ServiceState(plan: service, target: target, selection: selection, admin: admin, finished: finished))
    }
    return (states, moved)
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
}
