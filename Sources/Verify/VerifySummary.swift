import Catalog

/// What `cleave verify` found: per table, the rows the plan says the service should hold and what it holds.
public struct VerifySummary: Sendable, Codable {
  public var tables: [TableResult]

  /// True when every table matches.
  public var passed: Bool { tables.allSatisfy { $0.status == .match } }

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
