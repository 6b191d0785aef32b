import CleaveCore
import Plan

/// The two roles Cleave creates for a service: an owner that owns its objects and runs its migrations, and a
/// login role for the application with only the privileges it needs.
///
/// They are named after the service's database (and schema, in a shared database), not after the service: a
/// database name is unique on its server, so two plans or two environments with the same service names on one
/// server never share or fight over roles. Names longer than PostgreSQL's 63 bytes are shortened with a hash
/// (`PostgresIdentifier`), never silently truncated into each other.
public struct ServiceRoles: Sendable, Hashable {
  public var owner: String
  public var login: String

  /// `<database>_owner` and `<database>_app`; `<database>_<schema>_owner` and `…_app` for a schema of a shared
  /// database.
  public init(database: String, schema: String?) {
    let base = schema.map { database + "_" + $0 } ?? database
    owner = PostgresIdentifier.fit(base, suffix: "_owner")
    login = PostgresIdentifier.fit(base, suffix: "_app")
  }

  /// The roles of a resolved service.
  public init(for service: ServicePlan) { self.init(database: service.database, schema: service.schema) }

  /// The roles of a service as the plan file writes it.
  public init(for service: Service) { self.init(database: service.database, schema: service.schema) }

  /// The secrets-file keys of the two passwords: `CATALOG_OWNER_PASSWORD`, `CATALOG_APP_PASSWORD`.
  public var ownerSecretKey: String { Self.key(owner) }
  public var loginSecretKey: String { Self.key(login) }

  static func key(_ role: String) -> String { environmentPrefix(role) + "_PASSWORD" }

  /// `name` as the start of an environment variable: upper-cased, every character other than an ASCII letter or
  /// digit turned into `_` (service `auth` gives `AUTH`, `order-history` gives `ORDER_HISTORY`).
  public static func environmentPrefix(_ name: String) -> String {
    String(name.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
  }

  /// `AUTH_DB_PASSWORD`: the login role's password under the name the per-service configurations reference.
  public static func configurationSecretKey(service: String) -> String {
    environmentPrefix(service) + "_DB_PASSWORD"
  }
}
