/// The `.env` rules that dotenv loaders (dotenv, dotenv-expand, docker compose) share, enough to read back what
/// `cleave config` writes: `KEY=value` lines, `#` comments, optional quotes, and `${VAR}` expanded from earlier
/// lines or the given environment.
enum DotEnv {
  struct ParseError: Error, CustomStringConvertible {
    var line: Int
    var description: String
  }

  static func parse(_ text: String, environment: [String: String] = [:]) throws -> [String: String] {
    var values: [String: String] = [:]
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      var line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      if line.hasPrefix("export ") { line.removeFirst("export ".count) }
      guard let equals = line.firstIndex(of: "=") else {
        throw ParseError(line: index + 1, description: "line \(index + 1) has no `=`: \(line)")
      }
      let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
      guard let first = key.first, first.isLetter || first == "_",
        key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
      else { throw ParseError(line: index + 1, description: "line \(index + 1): \(key) is not a variable name") }
      var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
      var expand = true
      if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
        value = String(value.dropFirst().dropLast())
        expand = false
      } else if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
        value = String(value.dropFirst().dropLast())
      } else if let comment = value.range(of: " #") {
        value = String(value[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
      }
      values[key] = expand ? Self.expand(value, values.merging(environment) { $1 }) : value
    }
    return values
  }

  /// `${NAME}` replaced by its value (empty when unset, as dotenv-expand does).
  static func expand(_ value: String, _ known: [String: String]) -> String {
    var out = ""
    var rest = Substring(value)
    while let start = rest.range(of: "${") {
      out += rest[..<start.lowerBound]
      guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
        out += rest[start.lowerBound...]
        return out
      }
      out += known[String(rest[start.upperBound..<end])] ?? ""
      rest = rest[rest.index(after: end)...]
    }
    return out + rest
  }
}
