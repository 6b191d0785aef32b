import CLibPQ
import Foundation

/// Reads a connection string with libpq's own parser (`PQconninfoParse`), never echoing any of it in an error.
///
/// libpq's parse errors quote the string they could not read (`unexpected spaces found in "postgres://u:pa
/// ss@h"`), and a URL with an unencoded `/` or second `@` in its password parses into a host and port made of
/// the password's pieces, which connection errors then print. Both are caught here: a parse error is described
/// by its kind only, and such a URL is refused before libpq sees it.
enum ConnectionString {
  /// Whether libpq reads `text` as a URL rather than key=value.
  static func isURL(_ text: String) -> Bool {
    text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
  }

  /// Whether libpq reads `text` as a connection string at all: a plain word is a database name.
  static func isConnectionString(_ text: String) -> Bool { isURL(text) || text.contains("=") }

  /// The settings `text` spells out, as libpq parses them (defaults not filled in).
  ///
  /// - Throws: `PostgresError` (`.connectionString`) saying what kind of mistake libpq found, without the string.
  static func parse(_ text: String) throws(PostgresError) -> [String: String] {
    switch settings(text) {
    case .success(let settings): return settings
    case .failure(let problem):
      throw PostgresError(
        kind: .connectionString,
        message: "cannot be read: \(problem.words)",
        server: Redaction.redact(text))
    }
  }

  /// What libpq could not read, in words that quote nothing from the string.
  struct Problem: Error {
    var words: String
  }

  /// The settings, or the problem, without building an error (redaction uses this, and errors use redaction).
  static func settings(_ text: String) -> Result<[String: String], Problem> {
    guard isConnectionString(text) else { return .success(text.isEmpty ? [:] : ["dbname": text]) }
    if isURL(text), let problem = ambiguousPassword(in: text) { return .failure(Problem(words: problem)) }
    var errorMessage: UnsafeMutablePointer<CChar>?
    guard let parsed = PQconninfoParse(text, &errorMessage) else {
      let message = errorMessage.map { String(cString: $0) } ?? ""
      if let errorMessage { PQfreemem(errorMessage) }
      return .failure(Problem(words: describe(libpqMessage: message)))
    }
    defer { PQconninfoFree(parsed) }
    var result: [String: String] = [:]
    var option = parsed
    while let keyword = option.pointee.keyword {
      if let value = option.pointee.val { result[String(cString: keyword)] = String(cString: value) }
      option += 1
    }
    return .success(result)
  }

  /// A value in single quotes with libpq's escapes, as a key=value string needs it.
  static func quoted(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
  }

  /// A URL whose password holds an unencoded `/` or `@`: libpq would take pieces of the password for the host,
  /// the port or the database, and print them in its errors.
  private static func ambiguousPassword(in url: String) -> String? {
    guard let schemeEnd = url.range(of: "://") else { return nil }
    let rest = url[schemeEnd.upperBound...]
    let region = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
    let ats = region.filter { $0 == "@" }.count
    let hint = "percent-encode / ? @ # % and spaces in the user and password (%2F %3F %40 %23 %25 %20)"
    if ats > 1 { return "more than one \"@\" before the host; \(hint)" }
    if ats == 0, region.contains(":"), rest[region.endIndex...].contains("@") {
      return "an \"@\" after a \"/\", so the part before it would be read as a host and port; \(hint)"
    }
    return nil
  }

  /// What kind of mistake libpq's parse error names, in words that quote nothing from the string.
  static func describe(libpqMessage: String) -> String {
    let message = libpqMessage.lowercased()
    let kinds: [(String, String)] = [
      (
        "missing \"=\" after", "a word without \"=\" (every setting is key=value; quote a value with spaces: key='a b')"
      ),
      ("unterminated quoted string", "a quoted value without its closing quote"),
      ("invalid connection option", "a setting name libpq does not know"),
      ("unexpected spaces found", "a space in the URL; write it as %20"),
      ("invalid percent-encoded token", "a % in the URL not followed by two hex digits; write a literal % as %25"),
      ("forbidden value %00", "%00 in the URL"),
      ("invalid uri query parameter", "a URL parameter libpq does not know"),
      ("key/value separator", "a URL parameter that is not key=value"),
      ("ipv6 host address", "an IPv6 address in the URL without its closing ]"),
      ("unexpected character", "an unexpected character after the host in the URL (expected : or /)"),
      ("out of memory", "libpq ran out of memory"),
    ]
    for (prefix, words) in kinds where message.contains(prefix) { return words }
    if message.contains("service") {
      // Service-file errors name the service and file, never a value from the string.
      return libpqMessage.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return "libpq cannot read it"
  }
}
