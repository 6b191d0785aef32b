/// A place in a file a person wrote, such as `cleave.yml:14:7`, with lines and columns counted from 1.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible, Codable {
  public var file: String
  public var line: Int
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }
}
