import Catalog

/// One way a service database's schema departs from what the plan implies: a table, column, index, constraint or
/// sequence missing, unexpected or different, or a sequence that would hand out a value already used.
public struct SchemaDifference: Sendable, Codable, Equatable {
  /// What kind of object differs, and how.
  public enum Kind: String, Sendable, Codable {
    case missingTable = "missing table"
    /// A table the reference does not have (drift: created by hand in the live database).
    case unexpectedTable = "unexpected table"
    case missingColumn = "missing column"
    case unexpectedColumn = "unexpected column"
    case columnType = "column type"
    case nullability
    /// A partition's bounds differ from the source's: rows land in other partitions.
    case partitionBound = "partition bound"
    case columnDefault = "column default"
    case missingIndex = "missing index"
    case unexpectedIndex = "unexpected index"
    case missingConstraint = "missing constraint"
    case unexpectedConstraint = "unexpected constraint"
    case missingSequence = "missing sequence"
    /// The sequence's next value is at or below the largest value of a column that draws from it: the next
    /// insert would collide with an existing key.
    case sequenceBehindData = "sequence behind data"
    /// The sequence's next value is below the source's: the source handed out values after the copy (or the copy
    /// set it wrong), and the service would hand them out again.
    case sequenceBehindSource = "sequence behind source"
  }

  public var service: String
  /// The table in the service database (for a sequence: the sequence).
  public var table: QualifiedName
  public var kind: Kind
  /// The column, index, constraint or sequence, as PostgreSQL describes it.
  public var object: String
  public var expected: String?
  public var actual: String?
}
