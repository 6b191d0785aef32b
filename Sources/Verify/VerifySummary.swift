import Catalog

/// What `cleave verify` found: per table, the rows the plan says the service should hold and what it holds; the
/// schema differences; the soft references; and how the source was read.
public struct VerifySummary: Sendable, Codable {
  public var tables: [TableResult]
  /// Every way a service database's schema departs from what the plan implies (empty when none does).
  public var schema: [SchemaDifference] = []
  /// One result per soft reference (cross-service foreign key).
  public var references: [ReferenceResult] = []
  public var source = SourceState()
  /// What was verified: when, which source, which plan (and its SHA-256), with which transforms.
  public var context: Context?

  /// The facts a change ticket needs beside the verdict.
  public struct Context: Sendable, Codable {
    /// When verify ran, ISO 8601 in UTC.
    public var verifiedAt: String
    /// The source's connection string, its password masked, and its database.
    public var source: String
    public var sourceDatabase: String
    /// The plan file, its identity (`plan P; source S`) and the SHA-256 of its bytes.
    public var planFile: String
    public var planIdentity: String
    public var planSHA256: String
    /// Per `service: table`, what its transform does, in plain words.
    public var transforms: [String: [String]]
  }

  /// How many differing rows are listed per table (all of them are counted).
  public static let examplesPerTable = 20

  public init(tables: [TableResult]) { self.tables = tables }

  /// True when every table matches, the schema is as planned and no soft reference has an orphan.
  public var passed: Bool {
    tables.allSatisfy { $0.status == .match } && schema.isEmpty && references.allSatisfy { $0.orphans == 0 }
  }

  /// One service's part: whether its tables, its schema and the soft references from its tables all hold, and a
  /// one-line account (`12 tables match` or `2 of 12 tables differ, 1 schema difference`).
  public func result(of service: String) -> (passed: Bool, detail: String) {
    let mine = tables.filter { $0.service == service }
    let differing = mine.filter { $0.status != .match }.count
    let schema = self.schema.filter { $0.service == service }.count
    let orphans = references.filter { $0.fromService == service }.reduce(0) { $0 + $1.orphans }
    var parts = [differing == 0 ? "\(mine.count) tables match" : "\(differing) of \(mine.count) tables differ"]
    if schema > 0 { parts.append("\(schema) schema difference\(schema == 1 ? "" : "s")") }
    if orphans > 0 { parts.append("\(orphans) orphaned soft reference\(orphans == 1 ? "" : "s")") }
    return (differing == 0 && schema == 0 && orphans == 0, parts.joined(separator: ", "))
  }

  /// How the source was read: in the copy's snapshot, or live (and then how many writes it took meanwhile).
  public struct SourceState: Sendable, Codable {
    /// The snapshot verify read the source in, when it was given one (`--snapshot`).
    public var snapshot: String?
    /// Without a snapshot: rows written to the planned tables while verify ran (from the server's statistics);
    /// anything above zero means a difference may be a write that came after the copy, not a copy error.
    public var writesWhileVerifying: Int?
  }

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
    /// For a table that differs: the rows that differ, by key.
    public var differences: TableDifferences?
    /// Why the service database's table could not be read (a column missing, a type that does not cast).
    public var problem: String?
    /// For a partition: the root of its partition tree in the source.
    public var partitionTree: QualifiedName?
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
    /// The table is there but its planned columns cannot be read (see `problem`, and the schema differences).
    case unreadable
  }
}
