import Catalog
import Plan
import PostgresDriver

/// One table's projection compared between two sessions, each in a transaction holding the view to compare, for a
/// verify while the two sides stream: which rows differ (up to a limit), and, for given keys, each side's rows.
///
/// `cleave online verify` compares in rounds and reports only the differences that persist; this is its
/// per-round step, the same checksum and row narrowing `cleave verify` uses.
public struct TableComparison: Sendable {
  public let projection: TableProjection
  /// The key's columns on the source and in the service database; empty when the table has none (rows are then
  /// compared as a multiset and named by their whole text).
  public let key: (source: [String], target: [String])

  public init(table: Table, service: ServicePlan, catalog: DatabaseCatalog) {
    projection = TableProjection(table: table, service: service, catalog: catalog)
    key = projection.key(catalog: catalog)
  }

  /// The rows that differ, at most `limit` of them named in `examples` (the counts are complete).
  public func differences(source: SerialConnection, target: SerialConnection, limit: Int) async throws
    -> TableDifferences
  {
    let expected = try await TableChecksum.of(projection.select(range: nil), on: source)
    let actual = try await TableChecksum.of(projection.targetSelect, on: target)
    guard expected != actual else { return TableDifferences(key: key.target) }
    var diff = TableDiff(
      expected: .init(connection: source, query: projection.select(range: nil), key: key.source),
      actual: .init(connection: target, query: projection.targetSelect, key: key.target),
      columns: projection.finalColumns, keyNames: key.target, rows: max(expected.rows, actual.rows))
    diff.examplesLimit = limit
    return try await diff.run()
  }

  /// Each side's rows (their text, sorted) under each of `keys` (key texts as `differences` names them).
  public func rows(keys: [String], source: SerialConnection, target: SerialConnection) async throws
    -> [String: RowPair]
  {
    guard !keys.isEmpty else { return [:] }
    func read(_ query: String, _ key: [String], on connection: SerialConnection) async throws -> [String: [String]] {
      let keyText = TableDiff.keyText(key)
      let found = try await connection.query(
        "SELECT \(keyText) AS kt, q::text AS row FROM (\(query)) AS q WHERE \(keyText) = ANY($1::text[])",
        [PostgresArray.literal(keys)])
      var byKey: [String: [String]] = [:]
      for row in found.rows { byKey[row[0] ?? "", default: []].append(row[1] ?? "") }
      return byKey
    }
    let mine = try await read(projection.select(range: nil), key.source, on: source)
    let theirs = try await read(projection.targetSelect, key.target, on: target)
    var pairs: [String: RowPair] = [:]
    for key in keys {
      pairs[key] = RowPair(source: (mine[key] ?? []).sorted(), target: (theirs[key] ?? []).sorted())
    }
    return pairs
  }

  /// One key's rows on each side.
  public struct RowPair: Sendable, Equatable {
    public var source: [String]
    public var target: [String]
    public var differ: Bool { source != target }
  }
}
