import CleaveCore
import PostgresDriver

/// Reads a `DatabaseCatalog` from a source database in one read-only, repeatable-read transaction, so every
/// figure comes from the same instant.
public struct CatalogReader: Sendable {
  private let connection: SerialConnection

  /// - Parameter connection: a connection to the source; open it with `readOnly: true`.
  public init(connection: SerialConnection) { self.connection = connection }

  /// Connects to `source` read-only, reads its catalog, and closes the connection.
  ///
  /// - Throws: `CleaveError` when the source cannot be reached or a catalog query fails.
  public static func read(_ source: ConnInfo) async throws -> DatabaseCatalog {
    let connection: SerialConnection
    do { connection = try await SerialConnection.connect(source, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await connection.close() } }
    return try await CatalogReader(connection: connection).read()
  }

  /// Reads the whole catalog.
  ///
  /// - Throws: `CleaveError` with code `sourceQueryFailed` when a catalog query fails.
  /// - Parameter inOpenTransaction: the connection is already in a transaction (a copy's snapshot); read in it
  ///   and leave it open.
  /// - Returns: the catalog.
  public func read(inOpenTransaction: Bool = false) async throws -> DatabaseCatalog {
    do {
      if inOpenTransaction { return try await readInTransaction() }
      try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      let catalog = try await readInTransaction()
      try await connection.execute("COMMIT")
      return catalog
    } catch {
      if !inOpenTransaction { try? await connection.execute("ROLLBACK") }
      throw CleaveError(
        .sourceQueryFailed, "reading the catalog of \(connection.info) failed",
        hint: "Cleave needs to read pg_catalog; connect as the database owner or a role with pg_read_all_stats",
        cause: error)
    }
  }

  private func rows(_ sql: String) async throws(PostgresError) -> [Row] {
    try await connection.query(sql).namedRows
  }

  private func readInTransaction() async throws(PostgresError) -> DatabaseCatalog {
    let header = try await rows(
      "SELECT current_database() AS db, current_setting('server_version') AS version, "
        + "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pss")
    let schemas = try await rows(CatalogQueries.schemas).map {
      Schema(name: $0.string("name"), owner: $0.string("owner"))
    }
    let tables = try await readTables()
    let sequences = try await readSequences()
    let types = try await readTypes(usedBy: tables)
    let views = try await readViews()
    let functions = try await readFunctions()
    let triggers = try await rows(CatalogQueries.triggers).map {
      Trigger(
        name: $0.string("name"), table: QualifiedName($0.string("schema"), $0.string("table_name")),
        function: QualifiedName($0.string("function_schema"), $0.string("function_name")),
        definition: $0.string("definition"), enabled: $0.bool("enabled"))
    }
    let extensions = try await rows(CatalogQueries.extensions).map {
      Extension(name: $0.string("name"), version: $0.string("version"), schema: $0.string("schema"))
    }
    var hasStatStatements = header.first?.bool("has_pss") ?? false
    if hasStatStatements {
      // Installed is not enough: the library must be preloaded, or every read fails. The probe runs in a
      // savepoint so a failure does not abort the surrounding transaction.
      try await connection.execute("SAVEPOINT cleave_probe")
      do {
        try await connection.query("SELECT 1 FROM pg_stat_statements LIMIT 1")
        try await connection.execute("RELEASE SAVEPOINT cleave_probe")
      } catch {
        hasStatStatements = false
        try await connection.execute("ROLLBACK TO SAVEPOINT cleave_probe")
      }
    }
    // The system identifier tells two clusters apart; a role that may not read it gets nil, not a failure.
    var systemIdentifier: String?
    try await connection.execute("SAVEPOINT cleave_probe")
    do {
      systemIdentifier = try await connection.query("SELECT system_identifier::text FROM pg_control_system()").scalar
      try await connection.execute("RELEASE SAVEPOINT cleave_probe")
    } catch {
      try await connection.execute("ROLLBACK TO SAVEPOINT cleave_probe")
    }
    return DatabaseCatalog(
      database: header.first?.string("db") ?? "", serverVersion: header.first?.string("version") ?? "",
      schemas: schemas, tables: tables, sequences: sequences, types: types, views: views, functions: functions,
      triggers: triggers, extensions: extensions, hasStatStatements: hasStatStatements,
      systemIdentifier: systemIdentifier)
  }

  private func readTables() async throws(PostgresError) -> [Table] {
    let tableRows = try await rows(CatalogQueries.tables)
    let names = Dictionary(
      tableRows.map { ($0.string("oid"), QualifiedName($0.string("schema"), $0.string("name"))) },
      uniquingKeysWith: { first, _ in first })

    var partitionOf: [String: QualifiedName] = [:]
    var inherits: [String: [QualifiedName]] = [:]
    for row in try await rows(CatalogQueries.parents) {
      let parent = QualifiedName(row.string("schema"), row.string("name"))
      if row.bool("is_partition") {
        partitionOf[row.string("child")] = parent
      } else {
        inherits[row.string("child"), default: []].append(parent)
      }
    }

    var userTypes: [String: [QualifiedName]] = [:]
    for row in try await rows(CatalogQueries.columnTypes) {
      userTypes[row.string("table_oid") + "/" + row.string("position"), default: []]
        .append(QualifiedName(row.string("schema"), row.string("name")))
    }
    var columns: [String: [Column]] = [:]
    for row in try await rows(CatalogQueries.columns) {
      let identity: Column.Identity? =
        switch row.string("identity") {
        case "a": .always
        case "d": .byDefault
        default: nil
        }
      columns[row.string("table_oid"), default: []].append(
        Column(
          name: row.string("name"), position: row.int("position"), type: row.string("type"),
          notNull: row.bool("not_null"), defaultExpression: row["default_expr"], identity: identity,
          generatedExpression: row["generated_expr"], collation: row["collation"],
          userTypes: userTypes[row.string("table_oid") + "/" + row.string("position")] ?? []))
    }

    var primaryKeys: [String: Key] = [:]
    var uniqueKeys: [String: [Key]] = [:]
    var foreignKeys: [String: [ForeignKey]] = [:]
    for row in try await rows(CatalogQueries.constraints) {
      let oid = row.string("table_oid")
      guard let table = names[oid] else { continue }
      let key = Key(name: row.string("name"), columns: row.array("columns"))
      switch row.string("type") {
      case "p": primaryKeys[oid] = key
      case "u": uniqueKeys[oid, default: []].append(key)
      default:
        foreignKeys[oid, default: []].append(
          ForeignKey(
            name: key.name, table: table, columns: key.columns,
            referencedTable: QualifiedName(row.string("ref_schema"), row.string("ref_table")),
            referencedColumns: row.array("ref_columns"), definition: row.string("definition")))
      }
    }

    return tableRows.map { row in
      let oid = row.string("oid")
      let kind: Table.Kind =
        switch row.string("kind") {
        case "p": .partitioned
        case "f": .foreign
        default: .ordinary
        }
      return Table(
        name: QualifiedName(row.string("schema"), row.string("name")), kind: kind,
        persistence: row.string("persistence") == "u" ? .unlogged : .permanent,
        partitionOf: partitionOf[oid], partitionBound: row["partition_bound"], partitionKey: row["partition_key"],
        inheritsFrom: inherits[oid] ?? [], columns: columns[oid] ?? [], primaryKey: primaryKeys[oid],
        uniqueKeys: uniqueKeys[oid] ?? [], foreignKeys: foreignKeys[oid] ?? [],
        sizeBytes: Int64(row.int("size_bytes")), rowBytes: Int64(row.int("row_bytes")),
        rowEstimate: row["row_estimate"].flatMap { Int64($0) })
    }
  }

  private func readSequences() async throws(PostgresError) -> [Sequence] {
    var users: [String: [ColumnReference]] = [:]
    for row in try await rows(CatalogQueries.sequenceUsers) {
      users[row.string("sequence_oid"), default: []].append(
        ColumnReference(
          table: QualifiedName(row.string("schema"), row.string("table_name")), column: row.string("column_name")))
    }
    return try await rows(CatalogQueries.sequences).map { row in
      let owner = row["owner_table"].map {
        ColumnReference(table: QualifiedName(row.string("owner_schema"), $0), column: row.string("owner_column"))
      }
      return Sequence(
        name: QualifiedName(row.string("schema"), row.string("name")), dataType: row.string("data_type"),
        start: Int64(row.int("start")), increment: Int64(row.int("increment")),
        lastValue: row["last_value"].flatMap { Int64($0) }, ownedBy: owner,
        usedBy: (users[row.string("oid")] ?? []).sorted())
    }
  }

  private func readTypes(usedBy tables: [Table]) async throws(PostgresError) -> [UserType] {
    var users: [QualifiedName: Set<QualifiedName>] = [:]
    for table in tables {
      for type in table.columns.flatMap(\.userTypes) { users[type, default: []].insert(table.name) }
    }
    return try await rows(CatalogQueries.types).map { row in
      let name = QualifiedName(row.string("schema"), row.string("name"))
      return UserType(
        name: name, kind: UserType.Kind(rawValue: row.string("kind")) ?? .composite, labels: row.array("labels"),
        baseType: row["base_type"], constraints: row.array("constraints"), attributes: row.array("attributes"),
        usedBy: (users[name] ?? []).sorted())
    }
  }

  private func readViews() async throws(PostgresError) -> [View] {
    var reads: [String: [QualifiedName]] = [:]
    for row in try await rows(CatalogQueries.viewReads) {
      reads[row.string("view_oid"), default: []].append(QualifiedName(row.string("schema"), row.string("name")))
    }
    return try await rows(CatalogQueries.views).map { row in
      View(
        name: QualifiedName(row.string("schema"), row.string("name")),
        kind: row.string("kind") == "m" ? .materialized : .view, reads: reads[row.string("oid")] ?? [])
    }
  }

  private func readFunctions() async throws(PostgresError) -> [Function] {
    var dependencies: [String: [QualifiedName]] = [:]
    for row in try await rows(CatalogQueries.functionDependencies) {
      dependencies[row.string("function_oid"), default: []].append(
        QualifiedName(row.string("schema"), row.string("name")))
    }
    return try await rows(CatalogQueries.functions).map { row in
      Function(
        name: QualifiedName(row.string("schema"), row.string("name")), arguments: row.string("arguments"),
        language: row.string("language"), kind: row.string("kind"),
        dependsOn: dependencies[row.string("oid")] ?? [], body: row["body"],
        definition: row["definition"], oid: Int(row.string("oid")))
    }
  }
}
