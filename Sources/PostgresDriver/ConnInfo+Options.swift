import CLibPQ
import Foundation

extension ConnInfo {
  /// The settings the string (and its overrides) spells out, as libpq parses them; defaults are not filled in.
  ///
  /// - Throws: `PostgresError` with kind `.connection` when libpq cannot read the string.
  public func options() throws(PostgresError) -> [String: String] {
    var errorMessage: UnsafeMutablePointer<CChar>?
    var result: [String: String] = [:]
    if !rawValue.isEmpty {
      guard let parsed = PQconninfoParse(rawValue, &errorMessage) else {
        let message = errorMessage.map { String(cString: $0) } ?? "cannot parse the connection string"
        if let errorMessage { PQfreemem(errorMessage) }
        throw PostgresError(
          kind: .connection, message: message.trimmingCharacters(in: .whitespacesAndNewlines), server: redacted)
      }
      defer { PQconninfoFree(parsed) }
      var option = parsed
      while let keyword = option.pointee.keyword {
        if let value = option.pointee.val { result[String(cString: keyword)] = String(cString: value) }
        option += 1
      }
    }
    return result.merging(overrides) { _, override in override }
  }

  /// The password the string holds, if any.
  public func password() throws(PostgresError) -> String? { try options()["password"] }

  /// A key=value string with every setting but the password, and the password apart, for handing to `pg_dump`,
  /// `pg_restore` or `psql`: the string goes on the command line, the password into `PGPASSWORD`, so it never
  /// shows in `ps`.
  public func forTools() throws(PostgresError) -> (conninfo: String, password: String?) {
    var settings = try options()
    let password = settings.removeValue(forKey: "password")
    let text = settings.keys.sorted().map { key in
      let value = settings[key] ?? ""
      let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
      return "\(key)='\(escaped)'"
    }.joined(separator: " ")
    return (text, password)
  }
}
