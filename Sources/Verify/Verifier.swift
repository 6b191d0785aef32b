import Catalog
import CleaveCore
import Copy
import Foundation
import Plan
import PostgresDriver

/// Runs `cleave verify`: for every table of every service, the plan's projection of the source (filters and
/// transforms applied) against the service database, by row count and content checksum.
///
/// The source is read in one read-only, repeatable-read snapshot; both sides pin the settings that change a
/// value's text, so equal values give equal checksums.
public struct Verifier: Sendable {
  public var planPath: String
  public var environment: [String: String]

  public init(planPath: String, environment: [String: String]) {
    self.planPath = planPath
    self.environment = environment
  }

  /// - Returns: the result per table.
  /// - Throws: `CleaveError` when the plan is invalid or a server cannot be read.
  public func run() async throws -> VerifySummary {
    let plan = try await Split(planPath: planPath, environment: environment, secretsPath: "").resolvedPlan()
    let sourceInfo = ConnInfo(plan.file.source.url)
    let source: SerialConnection
    do { source = try await SerialConnection.connect(sourceInfo, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await source.close() } }
    try await source.execute(SessionSettings.sql + "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    let catalog = try await CatalogReader(connection: source).read(inOpenTransaction: true)
    var results: [VerifySummary.TableResult] = []
    for service in plan.services {
      let server = ConnInfo(plan.file.target(service.target)?.endpoint.url ?? "")
      let target: SerialConnection
      do { target = try await SerialConnection.connect(server.withDatabase(service.database)) } catch {
        throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
      }
      defer { Task { await target.close() } }
      try await target.execute(SessionSettings.sql)
      for name in service.tables {
        guard let table = catalog.table(name), table.kind == .ordinary else { continue }
        let root = catalog.partitionRoot(of: name)
        let transform = service.transforms[root]
        let select = CopySelect(table: table, transform: transform, catalog: catalog)
        let targetTable = Self.targetName(of: name, root: root, transform: transform, schema: service.schema)
        let expected = try await TableChecksum.of(select.select(range: nil), on: source)
        let exists = try await target.query("SELECT to_regclass($1) IS NOT NULL", [targetTable.quoted]).scalar == "t"
        guard exists else {
          results.append(
            .init(
              service: service.name, source: name, target: targetTable, expectedRows: expected.rows, actualRows: nil,
              status: .missing))
          continue
        }
        let columns = select.finalColumnNames.map(QualifiedName.quote).joined(separator: ", ")
        let actual = try await TableChecksum.of(
          "SELECT \(columns.isEmpty ? "" : columns) FROM ONLY \(targetTable.quoted)", on: target)
        let status: VerifySummary.Status =
          actual.rows != expected.rows ? .countDiffers : actual == expected ? .match : .contentDiffers
        results.append(
          .init(
            service: service.name, source: name, target: targetTable, expectedRows: expected.rows,
            actualRows: actual.rows, status: status))
      }
    }
    try? await source.execute("COMMIT")
    var summary = VerifySummary(tables: results)
    summary.references = try await checkSoftReferences(plan: plan, catalog: catalog)
    return summary
  }

  /// Every foreign key between tables of two services whose key columns the plan left as they are (a re-keyed
  /// or dropped column changes what the reference means, so it is not checked).
  private func checkSoftReferences(plan: SplitPlan, catalog: DatabaseCatalog) async throws
    -> [VerifySummary.ReferenceResult]
  {
    var results: [VerifySummary.ReferenceResult] = []
    for key in catalog.foreignKeys {
      guard let fromName = plan.owner(of: key.table), let toName = plan.owner(of: key.referencedTable),
        fromName != toName, let fromService = plan.services.first(where: { $0.name == fromName }),
        let toService = plan.services.first(where: { $0.name == toName }),
        let fromTable = catalog.table(key.table), let toTable = catalog.table(key.referencedTable),
        let fromSide = side(fromService, fromTable, key.columns, catalog),
        let toSide = side(toService, toTable, key.referencedColumns, catalog)
      else { continue }
      let fromConnection = try await connect(plan, fromService)
      let toConnection = try await connect(plan, toService)
      results.append(
        try await SoftReferenceCheck(
          key: key, from: (fromName, fromSide.table, fromSide.columns, fromConnection),
          to: (toName, toSide.table, toSide.columns, toConnection)
        ).run())
      await fromConnection.close()
      await toConnection.close()
    }
    return results
  }

  /// The table and column names a source table's key has in its service database; nil when the transform
  /// dropped or re-keyed one of the columns.
  private func side(_ service: ServicePlan, _ table: Table, _ columns: [String], _ catalog: DatabaseCatalog) -> (
    table: QualifiedName, columns: [String]
  )? {
    let root = catalog.partitionRoot(of: table.name)
    let transform = service.transforms[root]
    let select = CopySelect(table: table, transform: transform, catalog: catalog)
    let rekeyed = Set(
      transform?.columns.compactMap { change -> String? in
        if case .rekey = change.action { return change.column.value }
        return nil
      } ?? [])
    let names = Dictionary(uniqueKeysWithValues: zip(select.targetColumns, select.finalColumnNames))
    var mapped: [String] = []
    for column in columns {
      guard !rekeyed.contains(column), let name = names[column] else { return nil }
      mapped.append(name)
    }
    return (Self.targetName(of: table.name, root: root, transform: transform, schema: service.schema), mapped)
  }

  private func connect(_ plan: SplitPlan, _ service: ServicePlan) async throws -> SerialConnection {
    let server = ConnInfo(plan.file.target(service.target)?.endpoint.url ?? "")
    do { return try await SerialConnection.connect(server.withDatabase(service.database)) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
  }

  /// Where a source table ends up: its schema (or the service's, in a shared database) and its new name.
  static func targetName(of table: QualifiedName, root: QualifiedName, transform: TableTransform?, schema: String?)
    -> QualifiedName
  {
    var result = QualifiedName(schema ?? table.schema, table.name)
    if table == root, let rename = transform?.renameTo?.value {
      let renamed = rename.contains(".") ? QualifiedName(planName: rename) : QualifiedName(result.schema, rename)
      result = renamed
    }
    return result
  }
}
