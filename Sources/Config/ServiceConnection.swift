import Foundation
import Plan
import PostgresDriver
import Provision

/// How one service connects to its own database: where, as which role, with which pool; the password only when
/// it is to be written inline.
public struct ServiceConnection: Sendable {
  public var service: String
  /// The target server's name in the plan.
  public var target: String
  public var host: String
  public var port: Int
  public var database: String
  /// The service's schema in a shared database; nil for a database of its own (whose tables are in their
  /// source schemas).
  public var schema: String?
  /// The schemas the service's tables are in (`public`, or the service's own in a shared database).
  public var schemas: [String]
  /// The login role (`<service>_app`).
  public var user: String
  /// The login role's password, only with `--inline-secrets`.
  public var password: String?
  public var sslmode: String?
  public var pool: ConnectionPool

  public init(
    service: String, target: String, host: String, port: Int, database: String, schema: String?, schemas: [String],
    user: String, password: String?, sslmode: String?, pool: ConnectionPool
  ) {
    self.service = service
    self.target = target
    self.host = host
    self.port = port
    self.database = database
    self.schema = schema
    self.schemas = schemas
    self.user = user
    self.password = password
    self.sslmode = sslmode
    self.pool = pool
  }

  /// `AUTH` for service `auth`, `ORDER_HISTORY` for `order-history`: the service's name upper-cased, every
  /// character other than an ASCII letter or digit turned into `_`.
  public var environmentPrefix: String { ServiceRoles.environmentPrefix(service) }
  /// `AUTH_DATABASE_URL`.
  public var urlVariable: String { environmentPrefix + "_DATABASE_URL" }
  /// `AUTH_DB_PASSWORD`: the variable configurations reference instead of the password.
  public var passwordVariable: String { ServiceRoles.configurationSecretKey(service: service) }

  /// The password as configurations write it: the value with `--inline-secrets`, `${AUTH_DB_PASSWORD}` otherwise.
  public var passwordText: String { password ?? "${\(passwordVariable)}" }

  /// A libpq URL, `postgresql://auth_app:${AUTH_DB_PASSWORD}@host:5432/auth`, with `sslmode` and, in a shared
  /// database, the service's schema as the search path.
  public var libpqURL: String {
    var parameters: [String] = []
    if let sslmode { parameters.append("sslmode=" + URLText.encode(sslmode)) }
    if let schema { parameters.append("options=" + URLText.encode("-csearch_path=\(schema)")) }
    return url(scheme: "postgresql", parameters: parameters)
  }

  /// Prisma's URL: `schema=` for the search path and `connection_limit=` for the pool, as Prisma reads them.
  public var prismaURL: String {
    var parameters = ["connection_limit=\(pool.resolvedSize)"]
    if let sslmode { parameters.append("sslmode=" + URLText.encode(sslmode)) }
    if let schema { parameters.append("schema=" + URLText.encode(schema)) }
    return url(scheme: "postgresql", parameters: parameters)
  }

  /// The JDBC URL (no credentials: Spring passes them apart), with `currentSchema` in a shared database.
  public var jdbcURL: String {
    var parameters: [String] = []
    if let sslmode { parameters.append("sslmode=" + URLText.encode(sslmode)) }
    if let schema { parameters.append("currentSchema=" + URLText.encode(schema)) }
    return "jdbc:postgresql://\(URLText.host(host)):\(port)/\(URLText.encode(database))"
      + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
  }

  private func url(scheme: String, parameters: [String]) -> String {
    let secret = password.map(URLText.encode) ?? "${\(passwordVariable)}"
    return "\(scheme)://\(URLText.encode(user)):\(secret)@\(URLText.host(host)):\(port)/\(URLText.encode(database))"
      + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
  }
}

/// Percent-encoding for the parts of a connection URL (RFC 3986: everything but unreserved characters).
enum URLText {
  static func encode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      let scalar = UnicodeScalar(byte)
      if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar))))
        || "-._~".utf8.contains(byte)
      {
        out.append(Character(scalar))
      } else {
        out += String(format: "%%%02X", byte)
      }
    }
    return out
  }

  /// A host for a URL: an IPv6 address in brackets.
  static func host(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
