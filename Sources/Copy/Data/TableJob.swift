import Catalog
import Plan

/// One unit of data to copy: a table, or one key range of a large table, with the two COPY statements that move
/// it and the progress step that records it.
struct TableJob: Sendable {
  var service: String
  var table: QualifiedName
  /// `COPY (SELECT …) TO STDOUT` on the source, with the transform compiled in.
  var copyOut: String
  /// `COPY table (columns) FROM STDIN` on the target.
  var copyIn: String
  /// The progress step, unique per service database: `data public.film` or `data public.film 2/8`.
  var step: String
  var estimatedBytes: Int64

  /// What the job copies, as a short hash of its two statements.
  ///
  /// It is kept with the progress step, so a rerun
  /// whose plan changed the table's rows (a new filter, a new re-key) recopies it instead of keeping stale rows.
  var signature: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits: not for security, only to notice a change
    for byte in (copyOut + "\u{0}" + copyIn).utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return String(hash, radix: 16)
  }
}

/// Compiles a table and its transform into the SELECT the copy streams, so rows are never parsed by Cleave.
///
/// The source row is filtered and extended in an inner query over `ONLY table` (each row once: a partition's
/// rows are copied from the partition, never again through its parent), then re-keyed by a left join in an
/// outer one. Generated columns are left out: the target computes them.
public struct CopySelect: Sendable {
  public let table: Table
  public let transform: TableTransform?
  public let catalog: DatabaseCatalog

  public init(table: Table, transform: TableTransform?, catalog: DatabaseCatalog) {
    self.table = table
    self.transform = transform
    self.catalog = catalog
  }

  /// The target columns, in order: kept source columns (under their source names: renames happen after the
  /// load), then added columns.
  public var targetColumns: [String] {
    let dropped = Set(droppedColumns)
    return table.columns.filter { $0.generatedExpression == nil && !dropped.contains($0.name) }.map(\.name)
      + addedColumns.map(\.name)
  }

  /// The name each target column has once the copy is finished (after `rename_to` and a re-key's rename).
  public var finalColumnNames: [String] {
    var renames: [String: String] = [:]
    for change in transform?.columns ?? [] {
      switch change.action {
      case .rename(let name): renames[change.column.value] = name
      case .rekey(let rekey): if let name = rekey.renameTo { renames[change.column.value] = name }
      default: break
      }
    }
    return targetColumns.map { renames[$0] ?? $0 }
  }

  var droppedColumns: [String] {
    transform?.columns.compactMap { change in
      if case .drop = change.action { return change.column.value }
      return nil
    } ?? []
  }

  var addedColumns: [(name: String, expression: String, type: String)] {
    transform?.columns.compactMap { change in
      if case .add(let expression, let type) = change.action { return (change.column.value, expression, type) }
      return nil
    } ?? []
  }

  var rekeys: [(column: String, rekey: Rekey)] {
    transform?.columns.compactMap { change in
      if case .rekey(let rekey) = change.action { return (change.column.value, rekey) }
      return nil
    } ?? []
  }

  /// The SELECT for the rows where `range` holds (a SQL predicate over the source row, or nil for all).
  public func select(range: String?) -> String {
    let quote = QualifiedName.quote
    var conditions: [String] = []
    if let filter = transform?.rowFilter?.value { conditions.append("(\(filter))") }
    if let range { conditions.append("(\(range))") }
    let added = addedColumns.map { ", (\($0.expression))::\($0.type) AS \(quote($0.name))" }.joined()
    let inner =
      "SELECT s.*\(added) FROM ONLY \(table.name.quoted) AS s"
      + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
    var joins = ""
    var outputs: [String: String] = [:]
    for (index, entry) in rekeys.enumerated() {
      let alias = "r\(index)"
      let via = QualifiedName(planName: entry.rekey.via.value)
      joins +=
        " LEFT JOIN ONLY \(via.quoted) AS \(alias) ON \(alias).\(quote(entry.rekey.match.value)) = t.\(quote(entry.column))"
      let taken = "\(alias).\(quote(entry.rekey.take.value))"
      switch entry.rekey.onMissing {
      case .error, .null: outputs[entry.column] = taken
      case .keep:
        let type = catalog.table(via)?.column(entry.rekey.take.value)?.type ?? "text"
        outputs[entry.column] = "COALESCE(\(taken), t.\(quote(entry.column))::\(type))"
      }
    }
    let list = targetColumns.map { outputs[$0] ?? "t.\(quote($0))" }.joined(separator: ", ")
    return "SELECT \(list) FROM (\(inner)) AS t\(joins)"
  }

  /// The SELECT that finds values a re-key cannot map (for `on_missing: error`), a few at most.
  func unmatchedRekeys() -> [(column: String, via: String, sql: String)] {
    let quote = QualifiedName.quote
    return rekeys.filter { $0.rekey.onMissing == .error }.map { entry in
      let via = QualifiedName(planName: entry.rekey.via.value)
      let condition = transform?.rowFilter.map { " WHERE (\($0.value))" } ?? ""
      let sql = """
        SELECT t.\(quote(entry.column))::text AS value FROM (SELECT * FROM ONLY \(table.name.quoted)\(condition)) AS t
        WHERE t.\(quote(entry.column)) IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM ONLY \(via.quoted) AS r WHERE r.\(quote(entry.rekey.match.value)) = t.\(quote(entry.column)))
        LIMIT 5
        """
      return (entry.column, via.description, sql)
    }
  }

  /// The SELECT that finds a `match` value the lookup table holds twice (which would copy a row twice).
  func duplicateLookups() -> [(via: String, match: String, sql: String)] {
    let quote = QualifiedName.quote
    return rekeys.map { entry in
      let via = QualifiedName(planName: entry.rekey.via.value)
      let match = quote(entry.rekey.match.value)
      return (
        via.description, entry.rekey.match.value,
        "SELECT \(match)::text AS value FROM ONLY \(via.quoted) WHERE \(match) IS NOT NULL GROUP BY \(match) HAVING count(*) > 1 LIMIT 1"
      )
    }
  }

  /// The target's `COPY … FROM STDIN` for these columns.
  ///
  /// A table whose every column is generated (hard case 4) has none to copy: its rows travel as empty lines, and
  /// the target's COPY names no column (an empty list is not valid SQL).
  var copyIn: String {
    let columns = targetColumns.map(QualifiedName.quote).joined(separator: ", ")
    return "COPY \(table.name.quoted)" + (columns.isEmpty ? "" : " (\(columns))") + " FROM STDIN"
  }
}
