import PostgresDriver

/// A service whose database and roles exist: where to connect as the target's admin, and its roles.
public struct ProvisionedService: Sendable {
  public var name: String
  /// The service database on its target, reached with the target's admin credentials.
  public var database: ConnInfo
  public var databaseName: String
  /// The schema the service's tables go to in a shared database; nil for a database of its own.
  public var schema: String?
  public var roles: ServiceRoles
  /// What this run created (`database catalog_db`, `role catalog_owner`); empty when everything existed already.
  public var created: [String]
  /// Other databases of the target server the application role can connect to (through `PUBLIC`'s `CONNECT`,
  /// which PostgreSQL grants by default): Cleave reports them and changes nothing it did not create.
  public var alsoReachable: [String] = []
}
