import CleaveCore

/// Expands `${NAME}` and `${NAME:-default}` in connection strings, so secrets can stay in the environment.
///
/// `$$` stands for a literal `$`. A variable that is unset (and has no default) is an error that points at the
/// value, never a silent empty string.
struct EnvironmentExpander {
  let environment: [String: String]

  func expand(_ value: Located<String>) throws(CleaveError) -> String {
    var output = ""
    var rest = Substring(value.value)
    while let dollar = rest.firstIndex(of: "$") {
      output += rest[..<dollar]
      let after = rest[rest.index(after: dollar)...]
      if after.first == "$" {
        output += "$"
        rest = after.dropFirst()
      } else if after.first == "{", let close = after.firstIndex(of: "}") {
        let inner = after[after.index(after: after.startIndex)..<close]
        let parts = inner.split(separator: ":-", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        if let found = environment[name], !(parts.count == 2 && found.isEmpty) {
          output += found
        } else if parts.count == 2 {
          output += parts[1]
        } else {
          throw CleaveError(
            .planUndefinedVariable, "environment variable `\(name)` is not set",
            hint: "export \(name)=… before running cleave, or write ${\(name):-default}", at: value.location)
        }
        rest = after[after.index(after: close)...]
      } else {
        output += "$"
        rest = after
      }
    }
    return output + rest
  }
}
