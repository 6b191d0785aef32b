/// A sequence, the column that owns it (serial or identity), and every column whose default draws from it.
public struct Sequence: Sendable, Codable, Hashable {
  public var name: QualifiedName
  public var dataType: String
  public var start: Int64
  public var increment: Int64
  /// The last value handed out, nil when the sequence was never used.
  public var lastValue: Int64?
  public var ownedBy: ColumnReference?
  /// Columns whose `DEFAULT nextval(…)` uses this sequence; more than one table here means a shared sequence.
  public var usedBy: [ColumnReference]
}

/// One column of one table.
public struct ColumnReference: Sendable, Codable, Hashable, Comparable, CustomStringConvertible {
  public var table: QualifiedName
  public var column: String

  public init(table: QualifiedName, column: String) {
    self.table = table
    self.column = column
  }

  public var description: String { "\(table).\(QualifiedName.quoteIfNeeded(column))" }

  public static func < (lhs: ColumnReference, rhs: ColumnReference) -> Bool {
    (lhs.table, lhs.column) < (rhs.table, rhs.column)
  }
}
