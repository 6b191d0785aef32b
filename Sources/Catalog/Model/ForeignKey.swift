/// A foreign key from one table's columns to another's, which after a split may cross service boundaries.
public struct ForeignKey: Sendable, Codable, Hashable {
  public var name: String
  public var table: QualifiedName
  public var columns: [String]
  public var referencedTable: QualifiedName
  public var referencedColumns: [String]
  /// The full definition as `pg_get_constraintdef` writes it, with its ON DELETE / ON UPDATE actions.
  public var definition: String
}
