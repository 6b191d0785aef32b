import Catalog
import Plan
import PostgresDriver
import PostgresTools

/// Compares one service database's schema with what the plan implies from the source: for each of the service's
/// tables, its columns (names after renames, types, nullability, defaults), indexes, check and foreign-key
/// constraints (foreign keys to another service are soft references, so not expected), and its sequences, which
/// must be neither missing, nor behind the source, nor behind the data.
///
/// Indexes are compared by what they index (method, columns under their final names, order, `INCLUDE`,
/// predicate), not by name. Expression text that mentions a renamed column cannot be matched textually: on a
/// table with renamed columns, check constraints and generated expressions are compared by count only.
struct SchemaCheck {
  let service: ServicePlan
  let catalog: DatabaseCatalog
  let plan: SplitPlan
  /// The source, in the verify's snapshot.
  let source: SerialConnection
  /// The service database, in an open transaction.
  let target: SerialConnection

  func run() async throws -> [SchemaDifference] {
    // In a shared database the service's types and sequences live in its schema. With that schema first in the
    // search path, the server prints them unqualified (`'G'::mpaa_rating`), as the source prints its own.
    if let schema = service.schema {
      try await target.execute("SET LOCAL search_path TO \(QualifiedName.quote(schema)), public")
    }
    let targetCatalog = try await CatalogReader(connection: target).read(inOpenTransaction: true)
    var tables: [(source: Table, target: QualifiedName, columns: ColumnMapping)] = []
    for name in service.tables {
      guard let table = catalog.table(name) else { continue }
      let projection = TableProjection(table: table, service: service, catalog: catalog)
      tables.append((table, projection.target, ColumnMapping(projection)))
    }
    let sourceIndexes = try await Self.indexes(of: tables.map(\.source.name), on: source)
    let targetIndexes = try await Self.indexes(of: tables.map(\.target), on: target)
    let sourceChecks = try await Self.checks(of: tables.map(\.source.name), on: source)
    let targetChecks = try await Self.checks(of: tables.map(\.target), on: target)

    var differences: [SchemaDifference] = []
    func report(
      _ table: QualifiedName, _ kind: SchemaDifference.Kind, _ object: String, _ expected: String?, _ actual: String?
    ) {
      differences.append(
        SchemaDifference(
          service: service.name, table: table, kind: kind, object: object, expected: expected, actual: actual))
    }
    for (table, targetName, mapping) in tables {
      guard let actual = targetCatalog.table(targetName) else {
        // An ordinary table that is missing is already reported by the row check.
        if table.kind != .ordinary { report(targetName, .missingTable, targetName.description, "present", nil) }
        continue
      }
      compareColumns(table, actual, mapping, report: { report(targetName, $0, $1, $2, $3) })
      if table.partitionBound != actual.partitionBound {
        report(targetName, .partitionBound, targetName.description, table.partitionBound, actual.partitionBound)
      }
      let expectedIndexes = (sourceIndexes[table.name] ?? []).compactMap { $0.renamed(mapping) }
      compare(
        expected: expectedIndexes.map(\.description), actual: (targetIndexes[targetName] ?? []).map(\.description),
        missing: .missingIndex, unexpected: .unexpectedIndex, report: { report(targetName, $0, $1, $2, $3) })
      let checks = sourceChecks[table.name] ?? []
      let actualChecks = targetChecks[targetName] ?? []
      if mapping.renames.isEmpty {
        compare(
          expected: checks, actual: actualChecks, missing: .missingConstraint, unexpected: .unexpectedConstraint,
          report: { report(targetName, $0, $1, $2, $3) })
      } else if checks.count != actualChecks.count {
        report(targetName, .missingConstraint, "CHECK constraints", "\(checks.count)", "\(actualChecks.count)")
      }
      compare(
        expected: expectedForeignKeys(of: table, mapping), actual: actual.foreignKeys.map(Self.describe),
        missing: .missingConstraint, unexpected: .unexpectedConstraint,
        report: { report(targetName, $0, $1, $2, $3) })
    }
    // Tables in the service's schemas that the plan does not imply (left over, or made by hand).
    let expected = Set(tables.map(\.target))
    let schemas = Set(expected.map(\.schema))
    for table in targetCatalog.tables
    where schemas.contains(table.name.schema) && !expected.contains(table.name)
      && !Self.toolTables.contains(table.name.name)
    {
      report(table.name, .unexpectedTable, table.name.description, nil, "present")
    }
    differences += try await compareSequences(targetCatalog)
    return differences
  }

  // MARK: Columns

  private func compareColumns(
    _ table: Table, _ actual: Table, _ mapping: ColumnMapping,
    report: (SchemaDifference.Kind, String, String?, String?) -> Void
  ) {
    var expectedNames: Set<String> = []
    for column in table.columns where !mapping.dropped.contains(column.name) {
      let name = mapping.renames[column.name] ?? column.name
      expectedNames.insert(name)
      guard let found = actual.column(name) else {
        report(.missingColumn, name, column.type, nil)
        continue
      }
      if mapping.rekeyed.contains(column.name) { continue }
      if typeName(column) != typeName(found) { report(.columnType, name, column.type, found.type) }
      if column.notNull != found.notNull {
        report(.nullability, name, column.notNull ? "NOT NULL" : "NULL", found.notNull ? "NOT NULL" : "NULL")
      }
      let expectedDefault = describeDefault(column, renamesApply: !mapping.renames.isEmpty)
      let actualDefault = describeDefault(found, renamesApply: !mapping.renames.isEmpty)
      if expectedDefault != actualDefault { report(.columnDefault, name, expectedDefault, actualDefault) }
    }
    for added in mapping.added {
      expectedNames.insert(added)
      if actual.column(added) == nil { report(.missingColumn, added, "added by the plan", nil) }
    }
    for column in actual.columns where !expectedNames.contains(column.name) {
      report(.unexpectedColumn, column.name, nil, column.type)
    }
  }

  /// A column's type, without the schema of a user type when the service moved its types into its own schema.
  private func typeName(_ column: Column) -> String {
    guard service.schema != nil, !column.userTypes.isEmpty else { return column.type }
    return column.userTypes.map(\.name).joined(separator: ",") + (column.type.hasSuffix("[]") ? "[]" : "")
  }

  /// A column's default, identity or generation, as one comparable string.
  private func describeDefault(_ column: Column, renamesApply: Bool) -> String {
    if let identity = column.identity { return "GENERATED \(identity.rawValue.uppercased()) AS IDENTITY" }
    if let generated = column.generatedExpression { return renamesApply ? "GENERATED" : "GENERATED \(generated)" }
    guard let value = column.defaultExpression else { return "none" }
    // In a shared database the service's sequences live in its schema, and nextval names them there.
    if service.schema != nil, value.hasPrefix("nextval(") { return "nextval(…)" }
    return value
  }

  // MARK: Constraints

  /// The source's foreign keys from this table to tables of the same service, as the target should describe them.
  ///
  /// Keys whose table keeps its orphans (`on_orphan: keep-as-soft-reference`) are not expected.
  private func expectedForeignKeys(of table: Table, _ mapping: ColumnMapping) -> [String] {
    let notCreated = Set(OrphanRule(service: service, catalog: catalog).keysNotCreated(from: table.name).map(\.name))
    return table.foreignKeys.compactMap { key -> String? in
      guard plan.owner(of: key.referencedTable) == service.name, !notCreated.contains(key.name) else { return nil }
      guard let referencedTable = catalog.table(key.referencedTable) else { return nil }
      let referencedProjection = TableProjection(table: referencedTable, service: service, catalog: catalog)
      let referencedMapping = ColumnMapping(referencedProjection)
      let referenced = referencedProjection.target
      let columns = key.columns.map { mapping.renames[$0] ?? $0 }
      let referencedColumns = key.referencedColumns.map { referencedMapping.renames[$0] ?? $0 }
      if key.columns.contains(where: mapping.dropped.contains) { return nil }
      return Self.describe(columns: columns, referencedTable: referenced, referencedColumns: referencedColumns)
    }
  }

  /// Tables that tools keep in a service database next to its own: migration histories.
  static let toolTables: Set<String> = ["_prisma_migrations", "flyway_schema_history"]

  static func describe(_ key: ForeignKey) -> String {
    describe(columns: key.columns, referencedTable: key.referencedTable, referencedColumns: key.referencedColumns)
  }

  static func describe(columns: [String], referencedTable: QualifiedName, referencedColumns: [String]) -> String {
    "FOREIGN KEY (\(columns.joined(separator: ", "))) REFERENCES \(referencedTable)"
      + "(\(referencedColumns.joined(separator: ", ")))"
  }

  private func compare(
    expected: [String], actual: [String], missing: SchemaDifference.Kind, unexpected: SchemaDifference.Kind,
    report: (SchemaDifference.Kind, String, String?, String?) -> Void
  ) {
    var remaining = actual
    for item in expected {
      if let found = remaining.firstIndex(of: item) {
        remaining.remove(at: found)
      } else {
        report(missing, item, item, nil)
      }
    }
    for item in remaining { report(unexpected, item, nil, item) }
  }

  // MARK: Sequences

  /// Each sequence a service table draws from: present, not behind the source, not behind the data.
  private func compareSequences(_ targetCatalog: DatabaseCatalog) async throws -> [SchemaDifference] {
    let tables = Set(service.tables)
    var differences: [SchemaDifference] = []
    for sequence in catalog.sequences {
      let users = (sequence.usedBy + [sequence.ownedBy].compactMap { $0 }).filter { tables.contains($0.table) }
      guard !users.isEmpty else { continue }
      let name = QualifiedName(service.schema ?? sequence.name.schema, sequence.name.name)
      func report(_ kind: SchemaDifference.Kind, _ expected: String?, _ actual: String?) {
        differences.append(
          SchemaDifference(
            service: service.name, table: name, kind: kind, object: name.description, expected: expected,
            actual: actual))
      }
      guard let copy = targetCatalog.sequences.first(where: { $0.name == name }) else {
        report(.missingSequence, "present", nil)
        continue
      }
      let expectedNext = Self.next(sequence)
      let actualNext = Self.next(copy)
      if copy.increment > 0 ? actualNext < expectedNext : actualNext > expectedNext {
        report(.sequenceBehindSource, "next value \(expectedNext)", "next value \(actualNext)")
      }
      for user in Set(copy.usedBy + [copy.ownedBy].compactMap { $0 }) {
        let extreme = copy.increment > 0 ? "max" : "min"
        let value = try await target.query(
          "SELECT \(extreme)(\(QualifiedName.quote(user.column)))::text FROM \(user.table.quoted)"
        ).scalar
        guard let value, let used = Int64(value) else { continue }
        if copy.increment > 0 ? actualNext <= used : actualNext >= used {
          report(
            .sequenceBehindData, "next value beyond \(extreme)(\(user)) = \(used)", "next value \(actualNext)")
        }
      }
    }
    return differences
  }

  /// The value `nextval` would return.
  static func next(_ sequence: Sequence) -> Int64 {
    sequence.lastValue.map { $0 &+ sequence.increment } ?? sequence.start
  }

  // MARK: Catalog queries

  /// Every index of `tables`, described by what it indexes, by table.
  static func indexes(of tables: [QualifiedName], on connection: SerialConnection) async throws
    -> [QualifiedName: [IndexShape]]
  {
    let result = try await connection.query(
      """
      SELECT n.nspname AS schema, c.relname AS table_name, i.indisunique AS is_unique, am.amname AS method,
        i.indnkeyatts AS key_count,
        array(SELECT CASE WHEN i.indkey[k] = 0 THEN '(' || pg_get_indexdef(i.indexrelid, k + 1, true) || ')'
                 ELSE (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k])
               END FROM generate_subscripts(i.indkey, 1) AS k ORDER BY k) AS columns,
        array(SELECT i.indoption[k]::int & 1 FROM generate_subscripts(i.indoption, 1) AS k ORDER BY k) AS descending,
        pg_get_expr(i.indpred, i.indrelid, true) AS predicate
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
      WHERE c.oid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) AS x)
      """, [PostgresArray.literal(tables.map(\.quoted))])
    var byTable: [QualifiedName: [IndexShape]] = [:]
    for row in result.namedRows {
      let columns = row.array("columns")
      let keys = min(row.int("key_count"), columns.count)
      let descending = row.array("descending").map { $0 == "1" }
      byTable[QualifiedName(row.string("schema"), row.string("table_name")), default: []].append(
        IndexShape(
          unique: row.bool("is_unique"), method: row.string("method"), keys: Array(columns[..<keys]),
          descending: (0..<keys).map { $0 < descending.count && descending[$0] }, included: Array(columns[keys...]),
          predicate: row["predicate"]))
    }
    return byTable
  }

  /// Every CHECK constraint of `tables` (as `pg_get_constraintdef` writes it), by table.
  static func checks(of tables: [QualifiedName], on connection: SerialConnection) async throws
    -> [QualifiedName: [String]]
  {
    let result = try await connection.query(
      """
      SELECT n.nspname AS schema, c.relname AS table_name, pg_get_constraintdef(k.oid, true) AS definition
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'c' AND c.oid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) AS x)
      """, [PostgresArray.literal(tables.map(\.quoted))])
    var byTable: [QualifiedName: [String]] = [:]
    for row in result.namedRows {
      byTable[QualifiedName(row.string("schema"), row.string("table_name")), default: []].append(
        row.string("definition"))
    }
    return byTable
  }
}

/// What a table's projection does to its columns, as the schema check compares them.
///
/// Renamed (by a rename or a re-key's rename), dropped, re-keyed, added: read from `TableProjection`, never
/// worked out again here.
struct ColumnMapping {
  var renames: [String: String] = [:]
  var dropped: Set<String> = []
  var rekeyed: Set<String> = []
  var added: [String] = []

  init(_ projection: TableProjection) {
    dropped = Set(projection.dropped)
    for column in projection.columns {
      switch column.origin {
      case .expression: added.append(column.loadName)
      case .rekey: rekeyed.insert(column.loadName)
      case .source: break
      }
      if case .expression = column.origin { continue }
      if column.finalName != column.loadName { renames[column.loadName] = column.finalName }
    }
  }
}

/// An index described by what it indexes, so that two databases' indexes compare whatever their names.
struct IndexShape: Equatable {
  var unique: Bool
  var method: String
  /// Key columns by name, expressions in parentheses.
  var keys: [String]
  var descending: [Bool]
  var included: [String]
  var predicate: String?

  var description: String {
    let keyList = zip(keys, descending).map { $0 + ($1 ? " DESC" : "") }
    return (unique ? "UNIQUE " : "") + "\(method) (\(keyList.joined(separator: ", ")))"
      + (included.isEmpty ? "" : " INCLUDE (\(included.joined(separator: ", ")))")
      + (predicate.map { " WHERE \($0)" } ?? "")
  }

  /// The index as it should be once the transform ran, or nil when it covered a dropped column (the copy drops it).
  func renamed(_ mapping: ColumnMapping) -> IndexShape? {
    func rename(_ column: String) -> String? {
      if column.hasPrefix("(") { return column }
      return mapping.dropped.contains(column) ? nil : mapping.renames[column] ?? column
    }
    let keys = self.keys.compactMap(rename)
    let included = self.included.compactMap(rename)
    guard keys.count == self.keys.count, included.count == self.included.count else { return nil }
    return IndexShape(
      unique: unique, method: method, keys: keys, descending: descending, included: included, predicate: predicate)
  }
}
