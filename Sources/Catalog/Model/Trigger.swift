/// A user trigger on a table and the function it runs.
public struct Trigger: Sendable, Codable, Hashable {
  public var name: String
  public var table: QualifiedName
  public var function: QualifiedName
  /// The full definition as `pg_get_triggerdef` writes it.
  public var definition: String
  public var enabled: Bool
}
