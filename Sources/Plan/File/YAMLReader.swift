import CleaveCore
import Yams

/// Reads one YAML mapping of the plan with its locations, and reports unknown keys, missing keys and wrong types
/// as `CleaveError`s that point at `file:line:column`.
struct YAMLReader {
  let node: Node
  let file: String
  /// What this mapping is, for messages: `the plan`, `service "catalog"`.
  let context: String

  var location: SourceLocation { Self.location(of: node, in: file) }

  static func location(of node: Node, in file: String) -> SourceLocation {
    SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
  }

  init(_ node: Node, file: String, context: String) throws(CleaveError) {
    guard case .mapping = node else {
      throw CleaveError(
        .planWrongType, "\(context) must be a mapping of keys to values, not \(Self.describe(node))",
        at: Self.location(of: node, in: file))
    }
    self.node = node
    self.file = file
    self.context = context
  }

  /// The keys in the order written, with their nodes.
  var entries: [(key: Located<String>, value: Node)] {
    node.mapping.map { mapping in
      mapping.map { (Located($0.key.string ?? "", at: Self.location(of: $0.key, in: file)), $0.value) }
    } ?? []
  }

  /// Fails on the first key not in `allowed`, naming the closest allowed key.
  func rejectUnknownKeys(allowed: [String]) throws(CleaveError) {
    for (key, _) in entries where !allowed.contains(key.value) {
      let hint =
        Spelling.closest(to: key.value, in: allowed).map { "did you mean `\($0)`? " } ?? ""
      throw CleaveError(
        .planUnknownKey, "unknown key `\(key.value)` in \(context)",
        hint: hint + "allowed here: " + allowed.joined(separator: ", "), at: key.location)
    }
  }

  func node(_ key: String) -> Node? { entries.first { $0.key.value == key }?.value }

  func keyLocation(_ key: String) -> SourceLocation? { entries.first { $0.key.value == key }?.key.location }

  /// A scalar value, or nil when the key is absent.
  func string(_ key: String) throws(CleaveError) -> Located<String>? {
    guard let value = node(key) else { return nil }
    return try Self.scalar(value, file: file, what: "`\(key)` in \(context)")
  }

  /// A whole number of at least `minimum`, or nil when the key is absent.
  func int(_ key: String, minimum: Int) throws(CleaveError) -> Located<Int>? {
    guard let text = try string(key) else { return nil }
    guard let value = Int(text.value), value >= minimum else {
      throw CleaveError(
        .planWrongType, "`\(key)` in \(context) must be a whole number of at least \(minimum), not \"\(text.value)\"",
        hint: "write it as a plain number, such as `\(key): \(max(minimum, 1) * 10)`", at: text.location)
    }
    return Located(value, at: text.location)
  }

  func requiredString(_ key: String, hint: String) throws(CleaveError) -> Located<String> {
    guard let value = try string(key) else {
      throw CleaveError(.planMissingKey, "\(context) has no `\(key)`", hint: hint, at: location)
    }
    return value
  }

  /// A list of scalars (`[a, b]` or one per line); a single scalar counts as a list of one.
  func list(_ key: String) throws(CleaveError) -> [Located<String>] {
    guard let value = node(key) else { return [] }
    if case .scalar = value { return [try Self.scalar(value, file: file, what: "`\(key)` in \(context)")] }
    guard let sequence = value.sequence else {
      throw CleaveError(
        .planWrongType, "`\(key)` in \(context) must be a list, not \(Self.describe(value))",
        hint: "write it as [a, b] or one `- item` per line", at: Self.location(of: value, in: file))
    }
    var result: [Located<String>] = []
    for element in sequence {
      result.append(try Self.scalar(element, file: file, what: "an item of `\(key)` in \(context)"))
    }
    return result
  }

  static func scalar(_ node: Node, file: String, what: String) throws(CleaveError) -> Located<String> {
    guard case .scalar(let scalar) = node else {
      throw CleaveError(
        .planWrongType, "\(what) must be a single value, not \(describe(node))", at: location(of: node, in: file))
    }
    return Located(scalar.string, at: location(of: node, in: file))
  }

  static func describe(_ node: Node) -> String {
    switch node {
    case .scalar: "a single value"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .alias: "an alias"
    }
  }
}
