/// One column of a table: its type, default, identity, generation expression, collation and nullability.
public struct Column: Sendable, Codable, Hashable {
  /// How an identity column gets its values.
  public enum Identity: String, Sendable, Codable {
    case always
    case byDefault = "by default"
  }

  public var name: String
  public var position: Int
  /// The type as `format_type` writes it, with its modifier: `character varying(45)`, `public.mpaa_rating`.
  public var type: String
  public var notNull: Bool
  public var defaultExpression: String?
  public var identity: Identity?
  /// The expression of a `GENERATED ALWAYS AS (…) STORED` column.
  public var generatedExpression: String?
  /// The collation when it differs from the type's default.
  public var collation: String?
  /// User-defined types (enums, domains, composites) this column's type is or is built on.
  public var userTypes: [QualifiedName]
}
