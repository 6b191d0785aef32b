/// An enum, domain or composite type defined in the source, and the tables whose columns use it.
public struct UserType: Sendable, Codable, Hashable {
  /// The sort of type.
  public enum Kind: String, Sendable, Codable {
    case `enum`, domain, composite
  }

  public var name: QualifiedName
  public var kind: Kind
  /// Enum labels in order.
  public var labels: [String]
  /// For a domain, the type it is based on and its CHECK constraints.
  public var baseType: String?
  public var constraints: [String]
  /// For a composite, its attributes as `name type`.
  public var attributes: [String]
  public var usedBy: [QualifiedName]
}
