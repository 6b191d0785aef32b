import CleaveCore
import Foundation

/// A libpq connection string, URL (`postgres://…`) or key=value (`host=… dbname=…`), as the user gave it.
///
/// libpq reads it with its own rules, so PG* environment variables, `~/.pgpass`, `pg_service.conf` and `sslmode`
/// behave exactly as they do for `psql`. Printing a `ConnInfo` never shows its password: `description` is the
/// redacted form.
public struct ConnInfo: Sendable, Hashable, CustomStringConvertible {
  /// The string handed to libpq; never print it, print `redacted`.
  public let rawValue: String
  /// Settings that override the string's own, such as the database `withDatabase(_:)` picks.
  public private(set) var overrides: [String: String] = [:]

  public init(_ rawValue: String) { self.rawValue = rawValue }

  /// The connection string with its password replaced by `********`, and any override after it.
  public var redacted: String {
    var text = Redaction.redact(rawValue)
    for key in overrides.keys.sorted() {
      let value = Redaction.isSecret(key) ? Redaction.mask : overrides[key] ?? ""
      text += " (\(key)=\(value))"
    }
    return text
  }

  public var description: String { redacted }

  /// One libpq string with the overrides folded in, for programs such as `psql` or `pg_dump` that take `-d`.
  ///
  /// It holds the password if the original did: pass it to a child process, never print it.
  public var flattened: String {
    guard !overrides.isEmpty else { return rawValue }
    let isURL = rawValue.hasPrefix("postgres://") || rawValue.hasPrefix("postgresql://")
    var text = rawValue
    for key in overrides.keys.sorted() {
      let value = overrides[key] ?? ""
      if isURL {
        let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
        text += (text.contains("?") ? "&" : "?") + "\(key)=\(encoded)"
      } else {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        text += " \(key)='\(escaped)'"
      }
    }
    return text
  }

  /// The same server with another database, keeping every other setting (user, host, port, sslmode…).
  public func withDatabase(_ name: String) -> ConnInfo {
    var copy = self
    copy.overrides["dbname"] = name
    return copy
  }

  /// The same connection with one more libpq setting, such as `options` or `application_name`.
  public func with(_ key: String, _ value: String) -> ConnInfo {
    var copy = self
    copy.overrides[key] = value
    return copy
  }
}
