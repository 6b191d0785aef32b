/// The rows of one statement's result, in text format, copied out of libpq so they can cross tasks.
///
/// Catalog queries return a few thousand rows at most; table data never goes through here but through COPY.
public struct QueryResult: Sendable {
  public let columns: [String]
  public let rows: [[String?]]
  /// The command tag's row count, such as 3 for `INSERT 0 3`; 0 when the command reports none.
  public let affectedRows: Int

  public init(columns: [String], rows: [[String?]], affectedRows: Int) {
    self.columns = columns
    self.rows = rows
    self.affectedRows = affectedRows
  }

  /// Each row as a `Row`, whose values are read by column name.
  public var namedRows: [Row] {
    let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    return rows.map { Row(values: $0, index: index) }
  }

  /// The first column of the first row, or nil when there is none or it is NULL.
  public var scalar: String? { rows.first?.first ?? nil }
}

/// One result row whose values are read by column name, in PostgreSQL's text format.
public struct Row: Sendable {
  let values: [String?]
  let index: [String: Int]

  /// The value of `column`, nil when it is NULL or there is no such column.
  public subscript(_ column: String) -> String? {
    guard let position = index[column] else { return nil }
    return values[position]
  }

  public func string(_ column: String) -> String { self[column] ?? "" }
  public func int(_ column: String) -> Int { self[column].flatMap { Int($0) } ?? 0 }
  public func double(_ column: String) -> Double { self[column].flatMap { Double($0) } ?? 0 }
  /// PostgreSQL's text form of a boolean is `t` or `f`.
  public func bool(_ column: String) -> Bool { self[column] == "t" }
  /// A PostgreSQL `text[]` in text form (`{a,"b c"}`), unquoted.
  public func array(_ column: String) -> [String] { PostgresArray.parse(self[column] ?? "{}") }
}
