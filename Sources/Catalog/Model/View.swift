/// A view or materialized view and the relations its query reads, from `pg_rewrite` and `pg_depend`.
public struct View: Sendable, Codable, Hashable {
  /// Whether the view is computed on read or stored.
  public enum Kind: String, Sendable, Codable {
    case view, materialized
  }

  public var name: QualifiedName
  public var kind: Kind
  /// Tables and views the query reads directly; `DatabaseCatalog.tablesRead(by:)` follows views down to tables.
  public var reads: [QualifiedName]
}
