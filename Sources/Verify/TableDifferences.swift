import Catalog

/// Where a table's rows differ from the plan's projection of the source: how many rows are missing, extra or
/// changed, and the first of them by key.
public struct TableDifferences: Sendable, Codable, Equatable {
  /// The columns rows were matched by (their names in the service database); empty when the table has no
  /// primary key, and its rows were compared as a multiset (a changed row is then one missing and one extra).
  public var key: [String]
  /// Rows the plan expects that the service database does not have.
  public var missing = 0
  /// Rows the service database has that the plan does not expect (for a table without a key: more copies).
  public var extra = 0
  /// Rows present on both sides under the same key, with different values.
  public var changed = 0
  /// How many row hashes (both sides) were merged to find them: a few times the differences when the buckets
  /// narrowed the search, both tables' rows when they did not (small tables, or differences everywhere).
  public var rowsCompared = 0
  /// The first differences found, at most `VerifySummary.examplesPerTable`.
  public var examples: [RowDifference] = []

  /// Whether each difference could be pinned to a key.
  public var locatedByKey: Bool { !key.isEmpty }
  /// Every row that differs.
  public var total: Int { missing + extra + changed }

  public init(key: [String]) { self.key = key }
}

/// One row that differs, named by its key (or by the whole row, for a table without a key).
public struct RowDifference: Sendable, Codable, Equatable {
  /// What is wrong with the row.
  public enum Kind: String, Sendable, Codable {
    case missing
    case extra
    case changed
    /// The row is missing here and extra in another partition of the same table: the target put it in the wrong
    /// partition (`otherTable` names where it is).
    case movedOut = "moved out"
    /// The row is extra here and missing from another partition (`otherTable` names where it belongs).
    case movedIn = "moved in"
  }

  public var kind: Kind
  /// The key's text form, such as `(42)` or `(7,2024-01-01)`; for a table without a key, the row's.
  public var key: String
  /// For a changed row: the columns whose values differ.
  public var columns: [ColumnDifference] = []
  /// For a table without a key: how many copies of the row each side holds.
  public var expectedCopies: Int?
  public var actualCopies: Int?
  /// For a row in the wrong partition: the other partition.
  public var otherTable: QualifiedName?

  public init(kind: Kind, key: String) {
    self.kind = kind
    self.key = key
  }
}

/// One column of a changed row: its value in the plan's projection of the source and in the service database,
/// as PostgreSQL prints them (nil is NULL).
public struct ColumnDifference: Sendable, Codable, Equatable {
  public var column: String
  public var expected: String?
  public var actual: String?

  public init(column: String, expected: String?, actual: String?) {
    self.column = column
    self.expected = expected
    self.actual = actual
  }
}
