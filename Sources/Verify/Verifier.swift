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
    return VerifySummary(tables: results)
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
