import Catalog

/// What a copy did, per service and table: rows and bytes moved by this run, and what an earlier run had done.
public struct CopySummary: Sendable, Codable {
  public var services: [ServiceResult]
  /// Seconds spent in each phase of this run: `snapshot` (snapshot, catalog, schema dump), `schema` (pre-data),
  /// `data` (rows), `sequences`, `post-data` (indexes, constraints, triggers) and `finish` (transforms' renames
  /// and drops, moves into shared databases).
  public var seconds: [String: Double] = [:]
  /// How many large objects the source has, none of which is copied.
  ///
  /// Large objects (`pg_largeobject`) belong to no table, so no service gets them; the report says so instead of leaving them behind silently (hard case 8).
  public var largeObjectsNotCopied: Int = 0

  /// One service's result.
  public struct ServiceResult: Sendable, Codable {
    public var name: String
    public var database: String
    public var tables: [TableResult]
    /// Indexes, constraints and triggers created after the data.
    public var schemaSteps: Int
    public var sequences: Int
    /// Soft references: foreign keys to other services' tables, not created.
    public var skippedForeignKeys: Int
  }

  /// One table's result.
  public struct TableResult: Sendable, Codable {
    public var table: QualifiedName
    public var rows: Int
    public var bytes: Int
    /// True when an earlier, interrupted run had already copied it (in part or whole).
    public var resumed: Bool
    /// How this run moved its rows (`CopyFormat`); nil when an earlier run had copied it all.
    public var format: CopyFormat?
  }
}
