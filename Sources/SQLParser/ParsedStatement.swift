import CPgQuery
import Foundation

/// One statement of a SQL script as the PostgreSQL parser read it: its parse tree, where it starts, and its text.
public struct ParsedStatement: Sendable {
  /// The parse tree's node name, such as `IndexStmt` or `AlterTableStmt`.
  public var kind: String
  /// The node's fields.
  public var node: ParseNode
  /// The statement's text, without the `;` that ends it.
  public var text: String
  /// Where the statement's first token is: 1-based line and column in the script.
  public var line: Int
  public var column: Int

  /// Whether PostgreSQL refuses to run the statement inside a transaction block (`CREATE INDEX CONCURRENTLY`,
  /// `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, `ALTER SYSTEM`, …).
  public var runsOutsideTransaction: Bool {
    switch kind {
    case "IndexStmt", "DropStmt": return node["concurrent"].bool
    case "ReindexStmt":
      return node["params"].array.contains { $0["DefElem"]["defname"].string == "concurrently" }
    case "VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
      "DropTableSpaceStmt", "CreateSubscriptionStmt", "DropSubscriptionStmt":
      return true
    default: return false
    }
  }
}

/// A node of libpg_query's JSON parse tree, as a value that can cross tasks; absent fields read as `.null`.
public enum ParseNode: Sendable, Equatable {
  case object([String: ParseNode])
  case array([ParseNode])
  case string(String)
  case number(Double)
  case bool(Bool)
  case null

  init(_ json: Any) {
    switch json {
    case let object as [String: Any]: self = .object(object.mapValues(ParseNode.init))
    case let array as [Any]: self = .array(array.map(ParseNode.init))
    case let string as String: self = .string(string)
    case let number as NSNumber:
      // Foundation hands JSON's true and false over as NSNumbers of type `c` (char), and numbers as `i`, `q`, `d`.
      self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
    default: self = .null
    }
  }

  public subscript(_ key: String) -> ParseNode {
    if case .object(let fields) = self { return fields[key] ?? .null }
    return .null
  }

  public var array: [ParseNode] {
    if case .array(let items) = self { return items }
    return []
  }

  public var string: String? {
    if case .string(let text) = self { return text }
    return nil
  }

  public var int: Int? {
    if case .number(let value) = self { return Int(value) }
    return nil
  }

  public var bool: Bool {
    if case .bool(let value) = self { return value }
    return false
  }

  /// Every node below this one (itself included), depth first, with its node name when it is `{Name: {…}}`.
  public func descendants() -> [(kind: String?, node: ParseNode)] {
    var found: [(String?, ParseNode)] = []
    func visit(_ node: ParseNode, _ kind: String?) {
      found.append((kind, node))
      switch node {
      case .object(let fields):
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
          // Node names (`SelectStmt`) start with an ASCII capital, field names (`targetList`) do not: a byte test,
          // no Unicode property lookup (a fresh-clone run crashed once inside `Character.isUppercase` here).
          let isNode = key.utf8.first.map { (0x41...0x5A).contains($0) } ?? false
          visit(value, isNode ? key : nil)
        }
      case .array(let items): for item in items { visit(item, nil) }
      default: break
      }
    }
    visit(self, nil)
    return found
  }
}

extension SQLParser {
  /// Every statement of `script`, in order, with its parse tree, text and position.
  ///
  /// - Throws: `SQLParseError` when the script does not parse; its position is then a 1-based character offset.
  public static func statements(in script: String) throws(SQLParseError) -> [ParsedStatement] {
    guard let tree = try parseTree(script) as? [String: Any] else { return [] }
    let bytes = Array(script.utf8)
    var result: [ParsedStatement] = []
    for entry in (tree["stmts"] as? [[String: Any]]) ?? [] {
      guard let wrapped = entry["stmt"] as? [String: Any], let (kind, body) = wrapped.first else { continue }
      let start = (entry["stmt_location"] as? Int) ?? 0
      let length = (entry["stmt_len"] as? Int) ?? (bytes.count - start)
      let end = min(bytes.count, length == 0 ? bytes.count : start + length)
      var first = start
      // The statement's first token: past whitespace and `--` or `/* */` comments (not SQL, so no parsing needed).
      while first < end {
        if bytes[first] == 0x20 || bytes[first] == 0x0A || bytes[first] == 0x09 || bytes[first] == 0x0D {
          first += 1
        } else if first + 1 < end, bytes[first] == 0x2D, bytes[first + 1] == 0x2D {
          while first < end, bytes[first] != 0x0A { first += 1 }
        } else if first + 1 < end, bytes[first] == 0x2F, bytes[first + 1] == 0x2A {
          first += 2
          while first + 1 < end, !(bytes[first] == 0x2A && bytes[first + 1] == 0x2F) { first += 1 }
          first += 2
        } else {
          break
        }
      }
      let prefix = bytes[..<min(first, bytes.count)]
      let line = prefix.filter { $0 == 0x0A }.count + 1
      let lineStart = prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
      let column = String(decoding: bytes[lineStart..<min(first, bytes.count)], as: UTF8.self).count + 1
      result.append(
        ParsedStatement(
          kind: kind, node: ParseNode(body), text: String(decoding: bytes[start..<end], as: UTF8.self),
          line: line, column: column))
    }
    return result
  }
}
