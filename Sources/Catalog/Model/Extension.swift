/// An installed extension, which each service database that needs it must install too.
public struct Extension: Sendable, Codable, Hashable {
  public var name: String
  public var version: String
  public var schema: String
}
