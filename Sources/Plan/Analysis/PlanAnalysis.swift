import Catalog

/// What a split means before anything is copied: who owns what, which foreign keys become soft references, what
/// else crosses a service boundary, and which recorded queries will break.
///
/// `cleave plan` prints it as text or as JSON (`docs/plan-json.md`).
public struct PlanAnalysis: Sendable, Codable {
  public var formatVersion = 1
  public var source: String
  public var services: [ServiceSummary]
  public var unowned: [TableSummary]
  public var softReferences: [SoftReference]
  public var crossingViews: [Crossing]
  public var crossingFunctions: [Crossing]
  public var crossingTriggers: [Crossing]
  public var sharedSequences: [SharedSequence]
  public var sharedTypes: [SharedType]
  public var brokenQueries: BrokenQueries
  /// Extensions of the source, which each service database needs where its tables use them.
  public var extensions: [String]
}

/// One service's share of the source: its destination, its tables, and their total size and row estimate.
public struct ServiceSummary: Sendable, Codable {
  public var name: String
  public var target: String
  public var database: String
  public var schema: String?
  public var tables: [TableSummary]
  /// Sum over the tables that hold data (partitions, not their partitioned parents).
  public var sizeBytes: Int64
  /// Nil when some table was never analysed.
  public var rowEstimate: Int64?
  /// Tables with a transform, and what it does in a few words.
  public var transforms: [String: [String]]
}

/// A table with its size and row estimate.
public struct TableSummary: Sendable, Codable {
  public var name: QualifiedName
  public var kind: String
  public var partitionOf: QualifiedName?
  public var sizeBytes: Int64
  /// Nil when the table was never analysed.
  public var rowEstimate: Int64?
}

/// A foreign key whose two ends land in different services (or whose referenced table no service owns): the copy
/// will not create it, and `cleave verify` checks it across databases instead.
public struct SoftReference: Sendable, Codable {
  public var constraint: String
  public var from: End
  public var to: End
  public var definition: String

  /// One end of the reference: table, columns and the owning service (nil when no service owns the table).
  public struct End: Sendable, Codable {
    public var table: QualifiedName
    public var columns: [String]
    public var service: String?
  }
}

/// A view, function or trigger whose SQL reads tables of more than one service.
public struct Crossing: Sendable, Codable {
  /// `view`, `materialized view`, `function`, `procedure` or `trigger`.
  public var kind: String
  /// The view or function name, or `table.trigger` for a trigger.
  public var name: String
  /// For each service involved, the tables of it that are read; `(unowned)` for tables no service owns.
  public var services: [String: [QualifiedName]]
  /// How the tables were found: `catalog` (pg_depend) or `parsed` (the body parsed with libpg_query).
  public var evidence: String
}

/// A sequence that columns of more than one service draw from: each service gets its own copy, so values can
/// collide after the split unless the ranges are kept apart.
public struct SharedSequence: Sendable, Codable {
  public var sequence: QualifiedName
  public var services: [String: [ColumnReference]]
}

/// An enum, domain or composite type whose columns are in more than one service: it is created in each.
public struct SharedType: Sendable, Codable {
  public var type: QualifiedName
  public var kind: String
  public var services: [String: [QualifiedName]]
}

/// The recorded statements that touch tables of more than one service, from `pg_stat_statements`.
public struct BrokenQueries: Sendable, Codable {
  /// False when the source has no readable `pg_stat_statements`; `reason` says why.
  public var available: Bool
  public var reason: String?
  /// How many recorded statements were read, and how many the parser could not read (truncated text).
  public var statementsRead: Int
  public var unparsed: Int
  /// Most called first.
  public var queries: [BrokenQuery]
}

/// One recorded statement that joins or otherwise touches tables of several services.
public struct BrokenQuery: Sendable, Codable {
  public var queryID: String
  public var calls: Int64
  public var query: String
  /// The tables it touches, by the service that owns each.
  public var services: [String: [QualifiedName]]
  /// What the plan changes under it: a table renamed, a column it names dropped, renamed or re-keyed.
  public var changes: [String] = []
}
