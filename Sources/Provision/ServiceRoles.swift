/// The two roles Cleave creates for a service: an owner that owns its objects and runs its migrations, and a
/// login role for the application with only the privileges it needs.
public struct ServiceRoles: Sendable, Hashable {
  public var owner: String
  public var login: String

  /// `<service>_owner` and `<service>_app`.
  public init(service: String) {
    owner = service + "_owner"
    login = service + "_app"
  }

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
