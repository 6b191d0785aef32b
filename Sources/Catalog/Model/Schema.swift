/// A user schema of the source database and its owner.
public struct Schema: Sendable, Codable, Hashable {
  public var name: String
  public var owner: String
}
