import Catalog
import CleaveCore
import SQLParser

/// Checks one table's transform against the source: every column it names exists, every SQL fragment parses,
/// and the target ends up with distinct column names.
struct TransformValidator {
  let catalog: DatabaseCatalog
  let table: QualifiedName

  func validate(_ transform: TableTransform) throws(CleaveError) {
    guard let source = catalog.table(table) else { return }
    let columns = source.columns.map(\.name)
    if let filter = transform.rowFilter {
      try checkExpression(filter.value, at: filter.location, columns: columns, what: "the `where` filter")
    }
    if let rename = transform.renameTo {
      let parts = TablePattern.split(rename.value)
      guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
        throw CleaveError(
          .planInvalidName, "`\(rename.value)` is not a table name", hint: "write `name` or `schema.name`",
          at: rename.location)
      }
    }
    var targetColumns = columns
    for change in transform.columns {
      let name = change.column.value
      if case .add(let expression, let type) = change.action {
        guard !columns.contains(name) else {
          throw CleaveError(
            .planInvalidTransform, "column \(name) already exists in \(table)",
            hint: "`add` makes a new column; to change an existing one, drop it and add another name",
            at: change.column.location)
        }
        try checkExpression(expression, at: change.location, columns: columns, what: "the expression of \(name)")
        guard SQLParser.isValid("SELECT NULL::\(type)") else {
          throw CleaveError(.planInvalidTransform, "`\(type)` is not a SQL type", at: change.location)
        }
        targetColumns.append(name)
        continue
      }
      guard columns.contains(name) else { throw unknownColumn(name, in: source, at: change.column.location) }
      switch change.action {
      case .drop:
        targetColumns.removeAll { $0 == name }
      case .rename(let newName):
        targetColumns = targetColumns.map { $0 == name ? newName : $0 }
      case .rekey(let rekey):
        let viaName = try catalog.existingTable(rekey.via, what: "lookup table")
        guard let via = catalog.table(viaName) else { break }
        for column in [rekey.match, rekey.take] where via.column(column.value) == nil {
          throw unknownColumn(column.value, in: via, at: column.location)
        }
        if let newName = rekey.renameTo { targetColumns = targetColumns.map { $0 == name ? newName : $0 } }
      case .add:
        break
      }
    }
    var seen: Set<String> = []
    for column in targetColumns where !seen.insert(column).inserted {
      throw CleaveError(
        .planInvalidTransform, "\(table) would have two columns named \(column) after the transform",
        hint: "rename one of them", at: transform.table.location)
    }
  }

  private func checkExpression(_ sql: String, at location: SourceLocation, columns: [String], what: String)
    throws(CleaveError)
  {
    let references: [[String]]
    do { references = try SQLParser.columnReferences(inExpression: sql) } catch {
      throw CleaveError(
        .planInvalidTransform, "\(what) of \(table) is not valid SQL: \(error)",
        hint: "it must be a SQL expression over one row of \(table), such as `deleted_at IS NULL`", at: location)
    }
    for reference in references {
      guard let column = reference.last, !columns.contains(column) else { continue }
      if reference.count == 1 || reference.first == table.name {
        guard let source = catalog.table(table) else { continue }
        throw unknownColumn(column, in: source, at: location)
      }
    }
  }

  private func unknownColumn(_ name: String, in table: Table, at location: SourceLocation) -> CleaveError {
    let guess = Spelling.closest(to: name, in: table.columns.map(\.name))
    return CleaveError(
      .planUnknownColumn, "column \(name) does not exist in \(table.name)",
      hint: guess.map { "did you mean \($0)?" } ?? "its columns: " + table.columns.map(\.name).joined(separator: ", "),
      at: location)
  }
}
