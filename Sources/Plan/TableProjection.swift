import Catalog

/// What one source table becomes in its service, decided here and only here: for each column what the target
/// gets (the source column, an expression, a re-keyed value), under which name and type; which rows (the
/// filter); and the table's name in the target.
///
/// Copy streams `select(range:)`, creates the added columns with `preDataChanges` and renames and drops with
/// `finishingChanges`; verify checksums `select(range: nil)` on the source against `targetSelect` on the service
/// database and matches rows by `key`; the schema check and the soft-reference check read `finalName(of:)`.
/// `select(rowsFrom:)` applies the same projection to rows from anywhere (a `jsonb_populate_record` of one
/// changed row, for the online stream), so a projection never differs between the bulk copy and row by row.
///
/// The source row is filtered and extended in an inner query (over `ONLY table` for the bulk copy: each row
/// once, a partition's rows from the partition), then re-keyed by a left join in an outer one. Generated columns
/// are left out: the target computes them.
public struct TableProjection: Sendable {
  /// One column of the target, in load order.
  public struct Column: Sendable, Equatable {
    /// Where its value comes from.
    public enum Origin: Sendable, Equatable {
      /// The source column of the same (load) name.
      case source
      /// A SQL expression over the source row, cast to the column's type (`add`).
      case expression(String)
      /// The `take` column of the `via` row whose `match` equals the source value (`rekey`).
      case rekey(via: QualifiedName, match: String, take: String, onMissing: Rekey.OnMissing)
    }

    /// Its name while the data loads: the source column's name, or the added column's.
    public var loadName: String
    /// Its name once the copy is finished (after `rename_to` or a re-key's rename).
    public var finalName: String
    /// Its type in the target (`format_type` text); a re-keyed column takes the lookup column's type.
    public var type: String
    public var origin: Origin
  }

  /// The source table (a partition is projected on its own, with its tree's transform).
  public let table: Table
  /// The root of its partition tree (the table itself when it is in none); transforms are written on the root.
  public let root: QualifiedName
  public let transform: TableTransform?
  /// Where the table ends up: its schema (or the service's, in a shared database) and its new name.
  public let target: QualifiedName
  /// The target's columns in load order: kept source columns, then added ones.
  public let columns: [Column]
  /// Source columns left out of the target.
  public let dropped: [String]
  /// Keep only source rows for which this predicate holds.
  public let rowFilter: String?

  /// The projection of `table` for `service`.
  ///
  /// With `on_orphan: drop`, rows whose parent (through a foreign key inside the service) a filter leaves out are
  /// left out too (`OrphanRule.keepCondition`).
  public init(table: Table, service: ServicePlan, catalog: DatabaseCatalog) {
    let root = catalog.partitionRoot(of: table.name)
    self.init(
      table: table, transform: service.transforms[root], catalog: catalog, schema: service.schema,
      orphans: OrphanRule(service: service, catalog: catalog).keepCondition(of: table.name, alias: "s"))
  }

  /// The projection of `table` under `transform`; `schema` is the service's schema in a shared database, and
  /// `orphans` a condition over the source row (`s`) that keeps only rows whose parents are kept.
  public init(
    table: Table, transform: TableTransform?, catalog: DatabaseCatalog, schema: String? = nil, orphans: String? = nil
  ) {
    self.table = table
    let root = catalog.partitionRoot(of: table.name)
    self.root = root
    self.transform = transform
    let written: String? = transform?.rowFilter.map { "(" + $0.value + ")" }
    let conditions: [String] = [written, orphans].compactMap { $0 }
    rowFilter = conditions.isEmpty ? nil : conditions.joined(separator: " AND ")
    var target = QualifiedName(schema ?? table.name.schema, table.name.name)
    if table.name == root, let rename = transform?.renameTo?.value {
      target = rename.contains(".") ? QualifiedName(planName: rename) : QualifiedName(target.schema, rename)
    }
    self.target = target
    var dropped: [String] = []
    var renames: [String: String] = [:]
    var rekeys: [String: Rekey] = [:]
    var added: [Column] = []
    for change in transform?.columns ?? [] {
      let name = change.column.value
      switch change.action {
      case .drop: dropped.append(name)
      case .rename(let to): renames[name] = to
      case .add(let expression, let type):
        added.append(Column(loadName: name, finalName: name, type: type, origin: .expression(expression)))
      case .rekey(let rekey):
        rekeys[name] = rekey
        if let to = rekey.renameTo { renames[name] = to }
      }
    }
    self.dropped = dropped
    var columns: [Column] = []
    for column in table.columns where column.generatedExpression == nil && !dropped.contains(column.name) {
      var entry = Column(
        loadName: column.name, finalName: renames[column.name] ?? column.name, type: column.type, origin: .source)
      if let rekey = rekeys[column.name] {
        let via = QualifiedName(planName: rekey.via.value)
        entry.type = catalog.table(via)?.column(rekey.take.value)?.type ?? "text"
        entry.origin = .rekey(
          via: via, match: rekey.match.value, take: rekey.take.value, onMissing: rekey.onMissing)
      }
      columns.append(entry)
    }
    self.columns = columns + added
  }

  /// The target's column names while the data loads.
  public var loadColumns: [String] { columns.map(\.loadName) }

  /// The target's column names once the copy is finished.
  public var finalColumns: [String] { columns.map(\.finalName) }

  /// The final name of a source column; nil when the projection drops it.
  public func finalName(of sourceColumn: String) -> String? {
    columns.first { column in
      if case .expression = column.origin { return false }
      return column.loadName == sourceColumn
    }?.finalName
  }

  /// Whether the projection replaces the source column's value (a re-key), so references through it change
  /// meaning.
  public func isRekeyed(_ sourceColumn: String) -> Bool {
    columns.contains { column in
      guard column.loadName == sourceColumn, case .rekey = column.origin else { return false }
      return true
    }
  }

  /// The projection of the rows of `ONLY table` for which `range` holds (a predicate over the source row, or nil
  /// for all), as the copy streams them and verify checksums them.
  public func select(range: String?) -> String {
    select(rowsFrom: "ONLY \(table.name.quoted)", range: range)
  }

  /// The projection of the rows `rowsFrom` yields (any FROM item with the source table's columns: the table, or
  /// `jsonb_populate_record(NULL::table, $1)` for one changed row), filtered by the plan and by `range`.
  public func select(rowsFrom: String, range: String? = nil) -> String {
    let quote = QualifiedName.quote
    var conditions: [String] = []
    if let rowFilter { conditions.append("(\(rowFilter))") }
    if let range { conditions.append("(\(range))") }
    var added = ""
    var joins = ""
    var outputs: [String: String] = [:]
    var index = 0
    for column in columns {
      switch column.origin {
      case .source: break
      case .expression(let expression):
        added += ", (\(expression))::\(column.type) AS \(quote(column.loadName))"
      case .rekey(let via, let match, let take, let onMissing):
        let alias = "r\(index)"
        index += 1
        joins += " LEFT JOIN ONLY \(via.quoted) AS \(alias) ON \(alias).\(quote(match)) = t.\(quote(column.loadName))"
        let taken = "\(alias).\(quote(take))"
        outputs[column.loadName] =
          onMissing == .keep ? "COALESCE(\(taken), t.\(quote(column.loadName))::\(column.type))" : taken
      }
    }
    let inner =
      "SELECT s.*\(added) FROM \(rowsFrom) AS s"
      + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
    let list = columns.map { outputs[$0.loadName] ?? "t.\(quote($0.loadName))" }.joined(separator: ", ")
    return "SELECT \(list) FROM (\(inner)) AS t\(joins)"
  }

  /// The service database's side of the comparison: its columns under their final names, in the same order.
  public var targetSelect: String {
    "SELECT \(finalColumns.map(QualifiedName.quote).joined(separator: ", ")) FROM ONLY \(target.quoted)"
  }

  /// The target's `COPY … FROM STDIN` for the load columns.
  ///
  /// A table whose every column is generated (hard case 4) has none to copy: its rows travel as empty lines, and
  /// the target's COPY names no column (an empty list is not valid SQL).
  public var copyIn: String {
    let list = loadColumns.map(QualifiedName.quote).joined(separator: ", ")
    return "COPY \(table.name.quoted)" + (list.isEmpty ? "" : " (\(list))") + " FROM STDIN"
  }

  /// The columns rows are matched by, under their source and their final names: the primary key (a partition's
  /// own or its tree's), else a unique key of NOT NULL columns; none when the projection drops one of them.
  public func key(catalog: DatabaseCatalog) -> (source: [String], target: [String]) {
    let rootTable = catalog.table(root)
    let candidates =
      [table.primaryKey, rootTable?.primaryKey].compactMap { $0 }
      + table.uniqueKeys.filter { key in key.columns.allSatisfy { table.column($0)?.notNull == true } }
    guard let chosen = candidates.first else { return ([], []) }
    let mapped = chosen.columns.compactMap { name in columns.first { $0.loadName == name }?.finalName }
    guard mapped.count == chosen.columns.count else { return ([], []) }
    return (chosen.columns, mapped)
  }

  /// Before the data (on the tree's root only, partitions follow): added columns exist, re-keyed columns take
  /// the lookup column's type, and dropped columns accept NULL (they are dropped after the indexes and
  /// constraints that mention them are created).
  public var preDataChanges: [String] {
    alterations { change, name, column in
      switch change.action {
      case .add(_, let type): return ["ALTER TABLE \(name) ADD COLUMN \(column) \(type)"]
      case .rekey:
        let type = columns.first { $0.loadName == change.column.value }?.type ?? "text"
        return ["ALTER TABLE \(name) ALTER COLUMN \(column) TYPE \(type) USING NULL"]
      case .drop:
        return [
          "ALTER TABLE \(name) ALTER COLUMN \(column) DROP NOT NULL",
          "ALTER TABLE \(name) ALTER COLUMN \(column) DROP DEFAULT",
        ]
      case .rename: return []
      }
    }
  }

  /// The statements `body` gives for each column transform, on the tree's root only; `body` gets the change,
  /// the quoted table and the quoted column.
  private func alterations(_ body: (ColumnTransform, String, String) -> [String]) -> [String] {
    guard table.name == root, let transform else { return [] }
    return transform.columns.flatMap { body($0, table.name.quoted, QualifiedName.quote($0.column.value)) }
  }

  /// After the indexes and constraints (on the tree's root only): dropped columns go (with the indexes on
  /// them), columns and the table take their new names.
  public var finishingChanges: [String] {
    var statements = alterations { change, name, column in
      switch change.action {
      case .drop: return ["ALTER TABLE \(name) DROP COLUMN \(column) CASCADE"]
      case .rename(let to): return ["ALTER TABLE \(name) RENAME COLUMN \(column) TO \(QualifiedName.quote(to))"]
      case .rekey(let rekey):
        return rekey.renameTo.map { ["ALTER TABLE \(name) RENAME COLUMN \(column) TO \(QualifiedName.quote($0))"] }
          ?? []
      case .add: return []
      }
    }
    guard table.name == root, let transform else { return statements }
    let name = table.name.quoted
    if let rename = transform.renameTo?.value {
      let parts = rename.contains(".") ? QualifiedName(planName: rename) : QualifiedName(table.name.schema, rename)
      var current = table.name
      if parts.schema != current.schema {
        statements.append("CREATE SCHEMA IF NOT EXISTS \(QualifiedName.quote(parts.schema))")
        statements.append("ALTER TABLE \(name) SET SCHEMA \(QualifiedName.quote(parts.schema))")
        current = QualifiedName(parts.schema, current.name)
      }
      if parts.name != current.name {
        statements.append("ALTER TABLE \(current.quoted) RENAME TO \(QualifiedName.quote(parts.name))")
      }
    }
    return statements
  }

  /// The queries that find values a re-key cannot map (for `on_missing: error`), a few at most.
  ///
  /// The source table is `s` there, as in `select`: the row filter, and an orphan rule's `EXISTS`, name it so.
  public func unmatchedRekeys() -> [(column: String, via: String, sql: String)] {
    let quote = QualifiedName.quote
    let condition = rowFilter.map { " WHERE (\($0))" } ?? ""
    return columns.compactMap { column in
      guard case .rekey(let via, let match, _, let onMissing) = column.origin, onMissing == .error else { return nil }
      let sql = """
        SELECT t.\(quote(column.loadName))::text AS value FROM (SELECT s.* FROM ONLY \(table.name.quoted) AS s\(condition)) AS t
        WHERE t.\(quote(column.loadName)) IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM ONLY \(via.quoted) AS r WHERE r.\(quote(match)) = t.\(quote(column.loadName)))
        LIMIT 5
        """
      return (column.loadName, via.description, sql)
    }
  }

  /// The queries that find a `match` value the lookup table holds twice (which would copy a row twice).
  public func duplicateLookups() -> [(via: String, match: String, sql: String)] {
    columns.compactMap { column in
      guard case .rekey(let via, let match, _, _) = column.origin else { return nil }
      let quoted = QualifiedName.quote(match)
      return (
        via.description, match,
        "SELECT \(quoted)::text AS value FROM ONLY \(via.quoted) WHERE \(quoted) IS NOT NULL GROUP BY \(quoted) "
          + "HAVING count(*) > 1 LIMIT 1"
      )
    }
  }
}
