import CleaveCore

/// A `cleave.yml` as written: the source, the target servers and the services.
///
/// Each value keeps where it was written, so errors can point at it. See `docs/plan-file.md` for every key.
public struct PlanFile: Sendable {
  /// The path the plan was read from, as errors print it.
  public var path: String
  /// The plan's own name (`name:`), which Cleave writes into the mark on everything it creates; nil means the
  /// plan is known by its file's absolute path.
  public var name: String?
  public var source: Endpoint
  public var targets: [TargetServer]
  public var services: [Service]

  /// The target called `name`, if the plan has one.
  public func target(_ name: String) -> TargetServer? { targets.first { $0.name == name } }
}

/// A server Cleave connects to: the connection string after `${VAR}` expansion, and where it was written.
public struct Endpoint: Sendable {
  /// The libpq URL or conninfo, expanded; it may hold a password, so print `ConnInfo(url).redacted`, never this.
  public var url: String
  public var location: SourceLocation
}

/// A server where service databases get created, named in the plan's `targets:` map.
public struct TargetServer: Sendable {
  public var name: String
  public var endpoint: Endpoint
}

/// One service of the split: which tables it owns, where they go, and how they change on the way.
public struct Service: Sendable {
  public var name: String
  public var location: SourceLocation
  /// The target server's name; nil means "the only target there is".
  public var target: String?
  public var targetLocation: SourceLocation?
  /// The database the service's tables go to on the target server.
  public var database: String
  /// When set, the service's tables go into this schema of `database`, which other services may share.
  public var schema: String?
  /// Table names or globs (`public.film_*`), in the order written.
  public var tables: [Located<String>]
  /// Schemas whose every table the service owns.
  public var schemas: [Located<String>]
  public var transforms: [TableTransform]
  /// Passwords for the service's roles, when the plan gives them (`${ENV}`); otherwise provision generates them.
  public var ownerPassword: String?
  public var appPassword: String?
  /// The service's migrations folder (Prisma or Flyway layout), as written: relative to the plan's folder, or
  /// absolute.
  public var migrations: String?
  /// How the service connects: its pool and how many copies of it run (`pool_size`, `min_idle`, `replicas`).
  public var pool = ConnectionPool()
  /// How an online cutover moves the application's connections (`switch:`); nil when the plan says nothing.
  public var connectionSwitch: ConnectionSwitch?
}

/// A service's connection pool as the plan gives it; absent values take `cleave config`'s defaults.
public struct ConnectionPool: Sendable, Hashable {
  /// Connections per running copy of the service (HikariCP's `maximum-pool-size`, Prisma's `connection_limit`).
  public var size: Int?
  /// Connections kept open when idle (HikariCP's `minimum-idle`).
  public var minimumIdle: Int?
  /// How many copies of the service run at once, each with its own pool.
  public var replicas: Int?

  public init(size: Int? = nil, minimumIdle: Int? = nil, replicas: Int? = nil) {
    self.size = size
    self.minimumIdle = minimumIdle
    self.replicas = replicas
  }

  /// The defaults: 10 connections (HikariCP's default pool size), 2 of them kept when idle, one replica.
  public static let defaultSize = 10
  public static let defaultReplicas = 1

  public var resolvedSize: Int { size ?? Self.defaultSize }
  public var resolvedMinimumIdle: Int { min(minimumIdle ?? min(2, resolvedSize), resolvedSize) }
  public var resolvedReplicas: Int { replicas ?? Self.defaultReplicas }
}

/// A value from the plan and where it was written.
public struct Located<Value: Sendable>: Sendable {
  public var value: Value
  public var location: SourceLocation

  public init(_ value: Value, at location: SourceLocation) {
    self.value = value
    self.location = location
  }
}
