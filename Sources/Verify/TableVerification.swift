import Catalog
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
    let projection = TableProjection(table: table, service: service, catalog: catalog)
    let sourceQuery = projection.select(range: nil)
    var result = VerifySummary.TableResult(
      service: service.name, source: table.name, target: projection.target, expectedRows: 0, actualRows: nil,
      status: .missing)
    if projection.root != table.name || table.partitionOf != nil { result.partitionTree = projection.root }

    let exists =
      try await target.query("SELECT to_regclass($1) IS NOT NULL", [projection.target.quoted]).scalar == "t"
    let targetQuery = projection.targetSelect
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
    let key = projection.key(catalog: catalog)
    result.differences = try await TableDiff(
      expected: .init(connection: source, query: sourceQuery, key: key.source),
      actual: .init(connection: target, query: targetQuery, key: key.target),
      columns: projection.finalColumns, keyNames: key.target, rows: max(expected.rows, actual.rows)
    ).run()
    return result
  }
}
