import Catalog
import Copy
import Plan
import PostgresDriver

/// Verifies one table of one service: count and checksum on both sides at once, and when they differ, the rows
/// that differ (`TableDiff`).
struct TableVerification {
  let service: ServicePlan
  let table: Table
  let catalog: DatabaseCatalog
  /// The source, in the verify's snapshot.
  let source: SerialConnection
  /// The service database, in an open transaction.
  let target: SerialConnection

  func run() async throws -> VerifySummary.TableResult {
    let root = catalog.partitionRoot(of: table.name)
    let transform = service.transforms[root]
    let select = CopySelect(table: table, transform: transform, catalog: catalog)
    let targetTable = Verifier.targetName(of: table.name, root: root, transform: transform, schema: service.schema)
    let sourceQuery = select.select(range: nil)
    var result = VerifySummary.TableResult(
      service: service.name, source: table.name, target: targetTable, expectedRows: 0, actualRows: nil,
      status: .missing)
    if root != table.name || table.partitionOf != nil { result.partitionTree = root }

    let exists = try await target.query("SELECT to_regclass($1) IS NOT NULL", [targetTable.quoted]).scalar == "t"
    let columns = select.finalColumnNames.map(QualifiedName.quote).joined(separator: ", ")
    let targetQuery = "SELECT \(columns) FROM ONLY \(targetTable.quoted)"
    async let expectedSum = TableChecksum.of(sourceQuery, on: source)
    var actual: TableChecksum?
    if exists {
      try await target.execute("SAVEPOINT cleave_table")
      do {
        actual = try await TableChecksum.of(targetQuery, on: target)
        try await target.execute("RELEASE SAVEPOINT cleave_table")
      } catch {
        try await target.execute("ROLLBACK TO SAVEPOINT cleave_table")
        result.problem = error.message
      }
    }
    let expected = try await expectedSum
    result.expectedRows = expected.rows
    guard let actual else {
      result.status = exists ? .unreadable : .missing
      return result
    }
    result.actualRows = actual.rows
    guard actual != expected else {
      result.status = .match
      return result
    }
    result.status = actual.rows != expected.rows ? .countDiffers : .contentDiffers
    let key = self.key(select)
    result.differences = try await TableDiff(
      expected: .init(connection: source, query: sourceQuery, key: key.source),
      actual: .init(connection: target, query: targetQuery, key: key.target),
      columns: select.finalColumnNames, keyNames: key.target, rows: max(expected.rows, actual.rows)
    ).run()
    return result
  }

  /// The columns rows are matched by, under their source and their final names: the primary key (a partition's
  /// own or its tree's), else a unique key of NOT NULL columns; none when the transform dropped one of them.
  func key(_ select: CopySelect) -> (source: [String], target: [String]) {
    let root = catalog.table(catalog.partitionRoot(of: table.name))
    let candidates =
      [table.primaryKey, root?.primaryKey].compactMap { $0 }
      + table.uniqueKeys.filter { key in key.columns.allSatisfy { table.column($0)?.notNull == true } }
    guard let chosen = candidates.first else { return ([], []) }
    let names = Dictionary(uniqueKeysWithValues: zip(select.targetColumns, select.finalColumnNames))
    let mapped = chosen.columns.compactMap { names[$0] }
    guard mapped.count == chosen.columns.count else { return ([], []) }
    return (chosen.columns, mapped)
  }
}
