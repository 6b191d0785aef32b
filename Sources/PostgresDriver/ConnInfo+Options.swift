import CLibPQ
import Foundation

extension ConnInfo {
  /// The settings the string (and its overrides) spells out, as libpq parses them; defaults are not filled in.
  ///
  /// - Throws: `PostgresError` with kind `.connection` when libpq cannot read the string.
  public func options() throws(PostgresError) -> [String: String] {
    try ConnectionString.parse(rawValue).merging(overrides) { _, override in override }
  }

  /// The password the string holds, if any.
  public func password() throws(PostgresError) -> String? { try options()["password"] }

  /// A key=value string without any secret, and the secrets apart, for handing to `pg_dump`, `pg_restore` or
  /// `psql`: the string goes on the command line, the password into `PGPASSWORD`, and any other secret (such
  /// as `sslpassword`, which has no environment variable) into a private service file; `ps` shows none of them.
  ///
  /// - Throws: `PostgresError` when libpq cannot read the string, or when a secret other than the password is
  ///   given together with `service=` (the service file is where it must go then).
  public func forTools() throws(PostgresError) -> ToolConnection {
    var settings = try options()
    let password = settings.removeValue(forKey: "password")
    var hidden: [String: String] = [:]
    for key in settings.keys where Redaction.isSecret(key) { hidden[key] = settings.removeValue(forKey: key) }
    if !hidden.isEmpty, settings["service"] != nil || hidden.values.contains(where: { $0.contains("\n") }) {
      throw PostgresError(
        kind: .connectionString,
        message: "\(hidden.keys.sorted().joined(separator: ", ")) cannot be handed to pg_dump without showing it "
          + "on its command line when service= is also given or the value has a line break; put it in the "
          + "service file instead",
        server: redacted)
    }
    let text = settings.keys.sorted().map { "\($0)=\(ConnectionString.quoted(settings[$0] ?? ""))" }
    return ToolConnection(conninfo: text.joined(separator: " "), password: password, hidden: hidden)
  }

  /// Every setting, secrets included, as one key=value string, for a server that connects on its own (a
  /// subscription's `CONNECTION`), with `password` when the string has none (the one a session logged in with,
  /// `SerialConnection.passwordUsed()`); never print it.
  ///
  /// - Throws: `PostgresError` when libpq cannot read the string.
  public func keyValueString(password: String? = nil) throws(PostgresError) -> String {
    var settings = try options()
    if settings["password"] == nil, let password { settings["password"] = password }
    return settings.keys.sorted().map { "\($0)=\(ConnectionString.quoted(settings[$0] ?? ""))" }.joined(separator: " ")
  }
}
