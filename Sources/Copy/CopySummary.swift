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
  /// When each table's rows, each of its ranges, indexes, constraints and triggers, and its statistics were done,
  /// and on which worker: the overlap of the phases, as the benchmark draws it.
  public var timeline: [TimelineEvent] = []

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

  /// One task of the run on the timeline, in seconds since the run started.
  public struct TimelineEvent: Sendable, Codable {
    public var service: String
    /// The table, schema-qualified; empty for a step on no single table.
    public var table: String
    /// `copy`, `index`, `constraint`, `foreign key`, `trigger`, `attach`, `other`, `analyze`, or `phase` for the
    /// phases before and after the overlapped work (`snapshot`, `schema`, `sequences`, `finish`).
    public var kind: String
    /// `copy 2/4`, `index orders_customer_idx`, `analyze`.
    public var label: String
    /// The worker it ran on, from 0; -1 for a phase.
    public var worker: Int
    public var start: Double
    public var end: Double
  }
}
