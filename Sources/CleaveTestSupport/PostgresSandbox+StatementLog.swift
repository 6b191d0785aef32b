import Foundation

extension PostgresSandbox {
  /// The server's log file.
  public var serverLog: String { directory + "/server.log" }

  /// Every statement the server logged for `database` (with `log_statement = 'all'` set on it), in order: simple
  /// queries (`statement: …`) and extended-protocol executions (`execute <name>: …`), each whole, however many lines
  /// it spans.
  ///
  /// Log lines carry `user@database` (the sandbox's `log_line_prefix`); a line without the prefix continues the
  /// entry above it.
  public func loggedStatements(in database: String) throws -> [String] {
    let text = try String(contentsOfFile: serverLog, encoding: .utf8)
    var entries: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      // A new entry starts with the timestamp: `2026-11-30 10:00:00.000 UTC [123] …`.
      let startsEntry =
        line.count > 20 && line.prefix(4).allSatisfy(\.isNumber) && line.dropFirst(4).first == "-"
        && line.dropFirst(10).first == " "
      if startsEntry || entries.isEmpty {
        entries.append(String(line))
      } else {
        entries[entries.count - 1] += "\n" + line
      }
    }
    let marker = "@\(database) LOG:  "
    return entries.compactMap { entry in
      guard let range = entry.range(of: marker) else { return nil }
      let message = entry[range.upperBound...]
      if message.hasPrefix("statement: ") { return String(message.dropFirst("statement: ".count)) }
      if message.hasPrefix("execute "), let colon = message.range(of: ": ") {
        return String(message[colon.upperBound...])
      }
      return nil
    }
  }
}
