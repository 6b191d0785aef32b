/// A schema-qualified object name, such as `public.film` or `"Sales Data"."Q1"`, kept exactly as the catalog
/// spells it.
public struct QualifiedName: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
  public var schema: String
  public var name: String

  public init(_ schema: String, _ name: String) {
    self.schema = schema
    self.name = name
  }

  /// The name as SQL would write it: each part double-quoted only when it must be.
  public var description: String { Self.quoteIfNeeded(schema) + "." + Self.quoteIfNeeded(name) }

  /// The name with both parts always double-quoted, safe to paste into SQL.
  public var quoted: String { Self.quote(schema) + "." + Self.quote(name) }

  public static func < (lhs: QualifiedName, rhs: QualifiedName) -> Bool {
    (lhs.schema, lhs.name) < (rhs.schema, rhs.name)
  }

  /// `"name"` with inner quotes doubled, as `quote_ident` does.
  public static func quote(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// The identifier bare when it is lower-case ASCII letters, digits and underscores, quoted otherwise.
  public static func quoteIfNeeded(_ identifier: String) -> String {
    guard let first = identifier.unicodeScalars.first, first == "_" || ("a"..."z").contains(first),
      identifier.unicodeScalars.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) })
    else { return quote(identifier) }
    return identifier
  }
}
