/// An error from libpq or the server, with the fields the server sent (SQLSTATE, message, detail, hint).
///
/// The stage libraries turn it into a `CleaveError` with advice for the user. `server` is always the redacted
/// connection string.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
  /// What failed: reading the connection string, opening a connection, running a statement, or streaming COPY
  /// data.
  public enum Kind: String, Sendable {
    case connectionString, connection, query, copy, outOfMemory
  }

  public var kind: Kind
  /// The five-character SQLSTATE, when the server sent one (`28P01` for a wrong password, `42P01` for no table).
  public var sqlState: String?
  public var severity: String?
  public var message: String
  public var detail: String?
  public var hint: String?
  public var server: String
  /// Whether the connection was gone when the call failed: the server ended the session or the network dropped it.
  public var connectionLost = false

  public init(
    kind: Kind, sqlState: String? = nil, severity: String? = nil, message: String, detail: String? = nil,
    hint: String? = nil, server: String
  ) {
    self.kind = kind
    self.sqlState = sqlState
    self.severity = severity
    self.message = message
    self.detail = detail
    self.hint = hint
    self.server = server
  }

  /// True when the server refused the credentials (SQLSTATE 28P01 or 28000, or libpq's own words for it).
  public var isAuthenticationFailure: Bool {
    if sqlState == "28P01" || sqlState == "28000" { return true }
    return message.contains("password authentication failed") || message.contains("no password supplied")
  }

  /// True when the server ended the session or stopped the statement from outside, not because of the statement:
  /// the connection was lost, or SQLSTATE class 08 (connection exception), 57P01-57P04 (terminated by an
  /// administrator, a crash, a shutdown, the database dropped), 57014 (cancelled) or 25P03 (idle in transaction
  /// too long).
  public var isSessionEnded: Bool {
    if kind != .connection && connectionLost { return true }
    guard let sqlState else { return false }
    return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "57P04", "57014", "25P03"].contains(sqlState)
  }

  public var description: String {
    var text = message
    if let sqlState { text = "\(sqlState): \(text)" }
    if let detail { text += " (detail: \(detail))" }
    if let hint { text += " (hint: \(hint))" }
    return text
  }
}
