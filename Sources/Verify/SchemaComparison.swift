import Catalog
import PostgresDriver

/// Compares two databases' schemas object by object, with no renames between them.
///
/// It compares the tables, their columns (type, nullability, default), indexes (by shape), CHECK constraints and
/// foreign keys. `cleave migrate drift` uses it to compare a database built from the migrations with the live one.
public enum SchemaComparison {
  /// What `actual` has that `expected` has not, and the other way round, reported for `service`.
  ///
  /// - Parameters:
  ///   - expected: the reference database (built from the migrations).
  ///   - actual: the database compared with it (the live one).
  ///   - service: the service the differences are reported for.
  ///   - ignoring: tables left out on both sides (history tables), besides the `_cleave` schema.
  /// - Returns: the differences, tables first.
  /// - Throws: `PostgresError` when a catalog cannot be read.
  public static func compare(
    expected: SerialConnection, actual: SerialConnection, service: String, ignoring: Set<String> = []
  ) async throws -> [SchemaDifference] {
    func tables(_ catalog: DatabaseCatalog) -> [QualifiedName: Table] {
      Dictionary(
        catalog.tables.filter { $0.name.schema != "_cleave" && !ignoring.contains($0.name.name) }.map { ($0.name, $0) },
        uniquingKeysWith: { first, _ in first })
    }
    let want = tables(try await CatalogReader(connection: expected).read())
    let have = tables(try await CatalogReader(connection: actual).read())
    var differences: [SchemaDifference] = []
    func report(_ table: QualifiedName, _ kind: SchemaDifference.Kind, _ object: String, _ e: String?, _ a: String?) {
      differences.append(
        SchemaDifference(service: service, table: table, kind: kind, object: object, expected: e, actual: a))
    }
    for name in Set(want.keys).union(have.keys).sorted(by: { $0.description < $1.description }) {
      guard let wanted = want[name] else {
        report(name, .unexpectedTable, name.description, nil, "present")
        continue
      }
      guard let found = have[name] else {
        report(name, .missingTable, name.description, "present", nil)
        continue
      }
      for column in wanted.columns {
        guard let other = found.column(column.name) else {
          report(name, .missingColumn, column.name, column.type, nil)
          continue
        }
        if column.type != other.type { report(name, .columnType, column.name, column.type, other.type) }
        if column.notNull != other.notNull {
          report(
            name, .nullability, column.name, column.notNull ? "NOT NULL" : "NULL", other.notNull ? "NOT NULL" : "NULL")
        }
        if column.defaultExpression != other.defaultExpression || column.identity != other.identity {
          report(
            name, .columnDefault, column.name, column.defaultExpression ?? column.identity?.rawValue ?? "none",
            other.defaultExpression ?? other.identity?.rawValue ?? "none")
        }
      }
      for column in found.columns where wanted.column(column.name) == nil {
        report(name, .unexpectedColumn, column.name, nil, column.type)
      }
      let wantedKeys = wanted.foreignKeys.map(SchemaCheck.describe)
      let foundKeys = found.foreignKeys.map(SchemaCheck.describe)
      for key in wantedKeys where !foundKeys.contains(key) { report(name, .missingConstraint, key, key, nil) }
      for key in foundKeys where !wantedKeys.contains(key) { report(name, .unexpectedConstraint, key, nil, key) }
    }
    let common = Array(Set(want.keys).intersection(have.keys))
    let wantIndexes = try await SchemaCheck.indexes(of: common, on: expected)
    let haveIndexes = try await SchemaCheck.indexes(of: common, on: actual)
    let wantChecks = try await SchemaCheck.checks(of: common, on: expected)
    let haveChecks = try await SchemaCheck.checks(of: common, on: actual)
    for name in common.sorted(by: { $0.description < $1.description }) {
      let a = (wantIndexes[name] ?? []).map(\.description).sorted()
      let b = (haveIndexes[name] ?? []).map(\.description).sorted()
      for index in a where !b.contains(index) { report(name, .missingIndex, index, index, nil) }
      for index in b where !a.contains(index) { report(name, .unexpectedIndex, index, nil, index) }
      let c = (wantChecks[name] ?? []).sorted()
      let d = (haveChecks[name] ?? []).sorted()
      for check in c where !d.contains(check) { report(name, .missingConstraint, check, check, nil) }
      for check in d where !c.contains(check) { report(name, .unexpectedConstraint, check, nil, check) }
    }
    return differences
  }
}
