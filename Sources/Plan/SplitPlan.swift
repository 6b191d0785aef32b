import Catalog
import CleaveCore

/// A plan checked against the source: every service with its resolved target and the exact tables it owns.
///
/// Partitions follow their partitioned table: whoever owns any table of a partition tree owns all of it.
public struct SplitPlan: Sendable {
  public var file: PlanFile
  public var services: [ServicePlan]
  /// Which service owns each table of the source that some service owns.
  public var owners: [QualifiedName: String]
  /// Tables of the source no service owns, in name order.
  public var unowned: [QualifiedName]

  /// The service that owns `table`, nil when no service does.
  public func owner(of table: QualifiedName) -> String? { owners[table] }
}

/// One service after resolution: where its data goes and which tables it owns.
public struct ServicePlan: Sendable {
  public var name: String
  public var target: String
  public var database: String
  public var schema: String?
  /// Every table it owns, partitions included, in name order.
  public var tables: [QualifiedName]
  public var transforms: [QualifiedName: TableTransform]
  /// Role passwords the plan gives (from `${ENV}`); nil means generate one.
  public var ownerPassword: String?
  public var appPassword: String?
  public var pool = ConnectionPool()
}
