/// A table of the source as the catalog describes it: its kind, columns, keys, place in a partition or
/// inheritance tree, size and row estimate.
public struct Table: Sendable, Codable, Hashable {
  /// What sort of relation this is; partitions are `ordinary` or `partitioned` with `partitionOf` set.
  public enum Kind: String, Sendable, Codable {
    case ordinary, partitioned, foreign
  }

  /// Whether the table's data is WAL-logged.
  public enum Persistence: String, Sendable, Codable {
    case permanent, unlogged
  }

  public var name: QualifiedName
  public var kind: Kind
  public var persistence: Persistence
  /// The partitioned table this one is a partition of, with its bound (`FOR VALUES FROM … TO …`).
  public var partitionOf: QualifiedName?
  public var partitionBound: String?
  /// For a partitioned table, its key (`RANGE (payment_date)`).
  public var partitionKey: String?
  /// Parents by plain (non-partition) inheritance.
  public var inheritsFrom: [QualifiedName]
  public var columns: [Column]
  public var primaryKey: Key?
  public var uniqueKeys: [Key]
  public var foreignKeys: [ForeignKey]
  /// Heap, indexes and TOAST together; for a partitioned table, the sum over its partitions.
  public var sizeBytes: Int64
  /// The rows alone: heap and TOAST, without indexes (what a copy moves); for a partitioned table, the sum over its
  /// partitions.
  public var rowBytes: Int64
  /// The planner's estimate (`pg_class.reltuples`), summed over partitions for a partitioned table; nil when the
  /// table (or one of its partitions) was never vacuumed or analysed, so the server does not know.
  public var rowEstimate: Int64?

  /// The column called `name`, if there is one.
  public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
}

/// A primary or unique key: its constraint name and columns in order.
public struct Key: Sendable, Codable, Hashable {
  public var name: String
  public var columns: [String]
}
