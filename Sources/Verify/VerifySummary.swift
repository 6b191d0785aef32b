import Catalog

/// What `cleave verify` found: per table, the rows the plan says the service should hold and what it holds.
public struct VerifySummary: Sendable, Codable {
  public var tables: [TableResult]
  /// One result per soft reference (cross-service foreign key).
  public var references: [ReferenceResult] = []

  /// True when every table matches and no soft reference has an orphan.
  public var passed: Bool { tables.allSatisfy { $0.status == .match } && references.allSatisfy { $0.orphans == 0 } }

  /// A soft reference: how many distinct values were checked, and those with nothing to point at.
  public struct ReferenceResult: Sendable, Codable {
    public var constraint: String
    public var fromService: String
    public var from: QualifiedName
    public var toService: String
    public var to: QualifiedName
    public var checkedValues: Int
    public var orphans: Int
    /// The first orphaned values (several columns are joined with `, `).
    public var firstOrphans: [String]
  }

  /// One table of one service.
  public struct TableResult: Sendable, Codable {
    public var service: String
    /// The source table, and the table it became in the service database.
    public var source: QualifiedName
    public var target: QualifiedName
    public var expectedRows: Int
    public var actualRows: Int?
    public var status: Status
  }

  /// How a table compares.
  public enum Status: String, Sendable, Codable {
    /// Same rows, same content.
    case match
    /// A different number of rows.
    case countDiffers = "count differs"
    /// The same number of rows, but some differ.
    case contentDiffers = "content differs"
    /// The table is not in the service database.
    case missing
  }
}
