import Catalog
import CleaveCore
import PostgresDriver

/// A plan checked against the source: every service with its resolved target and the exact tables it owns.
///
/// Partitions follow their partitioned table: whoever owns any table of a partition tree owns all of it.
public struct SplitPlan: Sendable {
  public var file: PlanFile
  /// Which plan and source this is: part of the mark on everything Cleave creates for it.
  public var identity: PlanIdentity
  /// The source server and database, as the plan resolves it now.
  public var source: ConnInfo { ConnInfo(file.source.url) }
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
  /// The target server, as the plan resolves it now (its maintenance database; `withDatabase` for others).
  public var server: ConnInfo
  public var database: String
  public var schema: String?
  /// Every table it owns, partitions included, in name order.
  public var tables: [QualifiedName]
  public var transforms: [QualifiedName: TableTransform]
  /// Role passwords the plan gives (from `${ENV}`); nil means generate one.
  public var ownerPassword: String?
  public var appPassword: String?
  public var pool = ConnectionPool()
  /// How an online cutover moves the application's connections (the plan's `switch:`).
  public var connectionSwitch: ConnectionSwitch?
}
