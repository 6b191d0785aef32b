/// A table named in a SQL statement, as written: schema-qualified or not.
///
/// An unqualified name is resolved against the search path by whoever knows it (`Plan` assumes `public`).
public struct TableReference: Hashable, Sendable, Comparable, CustomStringConvertible {
  public var schema: String?
  public var name: String

  public init(schema: String?, name: String) {
    self.schema = schema
    self.name = name
  }

  public var description: String { schema.map { "\($0).\(name)" } ?? name }

  public static func < (lhs: TableReference, rhs: TableReference) -> Bool {
    (lhs.schema ?? "", lhs.name) < (rhs.schema ?? "", rhs.name)
  }
}
