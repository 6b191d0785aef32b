/// Reads PostgreSQL's text form of a one-dimensional array (`{a,"b c",NULL}`).
public enum PostgresArray {
  /// The elements, with quotes and backslash escapes removed; a NULL element becomes an empty string.
  public static func parse(_ text: String) -> [String] {
    guard text.hasPrefix("{"), text.hasSuffix("}"), text.count >= 2 else { return [] }
    let body = text.dropFirst().dropLast()
    var elements: [String] = []
    var current = ""
    var quoted = false
    var wasQuoted = false
    var escaped = false
    for character in body {
      if escaped {
        current.append(character)
        escaped = false
      } else if character == "\\" {
        escaped = true
      } else if character == "\"" {
        quoted.toggle()
        wasQuoted = true
      } else if character == ",", !quoted {
        elements.append(!wasQuoted && current == "NULL" ? "" : current)
        current = ""
        wasQuoted = false
      } else {
        current.append(character)
      }
    }
    if !body.isEmpty { elements.append(!wasQuoted && current == "NULL" ? "" : current) }
    return elements
  }
}

extension PostgresArray {
  /// The text form of a one-dimensional array of `elements`, every element quoted, for a `text[]` parameter.
  public static func literal(_ elements: [String]) -> String {
    let quoted = elements.map { element in
      "\"" + element.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    return "{" + quoted.joined(separator: ",") + "}"
  }
}
