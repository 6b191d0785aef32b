/// A statement the PostgreSQL parser rejected, with the parser's message and the 1-based character position.
public struct SQLParseError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var position: Int?

  public var description: String {
    position.map { "\(message) at character \($0)" } ?? message
  }
}
