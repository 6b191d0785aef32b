import Catalog

/// A table name or glob from the plan: `public.film`, `film` (schema `public`), `public.film_*`, `"odd.schema".t`.
///
/// Names are matched exactly as written, case included; double quotes are only needed around a part that holds a
/// dot. `*` matches any run of characters and `?` one character, within one part.
struct TablePattern {
  var schema: String
  var name: String

  init(_ text: String) {
    let parts = Self.split(text)
    if parts.count >= 2 {
      schema = parts[0]
      name = parts[1...].joined(separator: ".")
    } else {
      schema = "public"
      name = parts.first ?? ""
    }
  }

  var isGlob: Bool { (schema + name).contains(where: { $0 == "*" || $0 == "?" }) }

  var qualified: QualifiedName { QualifiedName(schema, name) }

  func matches(_ table: QualifiedName) -> Bool {
    Self.glob(schema, matches: table.schema) && Self.glob(name, matches: table.name)
  }

  /// Splits on dots outside double quotes, removing the quotes (`""` inside quotes is one `"`).
  static func split(_ text: String) -> [String] {
    var parts: [String] = []
    var current = ""
    var quoted = false
    var iterator = Array(text).makeIterator()
    var pending: Character? = iterator.next()
    while let character = pending {
      pending = iterator.next()
      if character == "\"" {
        if quoted, pending == "\"" {
          current.append("\"")
          pending = iterator.next()
        } else {
          quoted.toggle()
        }
      } else if character == ".", !quoted {
        parts.append(current)
        current = ""
      } else {
        current.append(character)
      }
    }
    parts.append(current)
    return parts
  }

  static func glob(_ pattern: String, matches text: String) -> Bool {
    let p = Array(pattern)
    let t = Array(text)
    var pi = 0
    var ti = 0
    var star = -1
    var mark = 0
    while ti < t.count {
      if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
        pi += 1
        ti += 1
      } else if pi < p.count, p[pi] == "*" {
        star = pi
        mark = ti
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        ti = mark
      } else {
        return false
      }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}

extension QualifiedName {
  /// A table name as the plan writes it (`public.film`, `film`, `"odd.schema".t`); see `docs/plan-file.md`.
  public init(planName: String) {
    let pattern = TablePattern(planName)
    self.init(pattern.schema, pattern.name)
  }
}
