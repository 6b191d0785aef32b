/// What a SQL expression makes the server call, as written, found in libpg_query's parse tree: functions by name,
/// operators by name (including those behind `IN`, `LIKE`, `BETWEEN`, `IS DISTINCT FROM`, `NULLIF` and
/// `op ANY (subquery)`), and the types it casts to (a cast runs the cast's function, the type's input function and
/// a domain's checks).
///
/// Each name is its written parts: `["lower"]`, `["pg_catalog", "lo_create"]`, `["public", "===>"]` (from
/// `OPERATOR(public.===>)`), `["pg_catalog", "int4"]` (the parser's own name for `int`).
public struct ExpressionCalls: Sendable, Equatable {
  public var functions: [[String]] = []
  public var operators: [[String]] = []
  public var types: [[String]] = []

  public init(functions: [[String]] = [], operators: [[String]] = [], types: [[String]] = []) {
    self.functions = functions
    self.operators = operators
    self.types = types
  }

  /// Reads the calls out of a parse tree, each list in the order written, each name once.
  init(tree: Any) {
    var functions: [(Int, [String])] = []
    var operators: [(Int, [String])] = []
    var types: [(Int, [String])] = []
    SQLParser.walk(tree) { key, value in
      guard let node = value as? [String: Any] else { return }
      let location = (node["location"] as? Int) ?? 0
      switch key {
      case "FuncCall":
        if let names = Self.names(node["funcname"]) { functions.append((location, names)) }
      case "A_Expr":
        guard let names = Self.names(node["name"]) else { return }
        // BETWEEN is written as one word and run as the comparisons it stands for.
        if let kind = node["kind"] as? String, kind.hasPrefix("AEXPR_BETWEEN") || kind.hasPrefix("AEXPR_NOT_BETWEEN") {
          operators += [(location, ["<="]), (location, [">="]), (location, ["<"]), (location, [">"])]
        } else {
          operators.append((location, names))
        }
      case "SubLink":
        if let names = Self.names(node["operName"]) { operators.append((location, names)) }
      case "TypeCast":
        if let typeName = node["typeName"] as? [String: Any], let names = Self.names(typeName["names"]) {
          types.append((location, names))
        }
      default: return
      }
    }
    func ordered(_ list: [(Int, [String])]) -> [[String]] {
      var seen: Set<[String]> = []
      return list.sorted { $0.0 < $1.0 }.map(\.1).filter { seen.insert($0).inserted }
    }
    self.init(functions: ordered(functions), operators: ordered(operators), types: ordered(types))
  }

  /// The string parts of a list of `String` nodes; nil when any part is something else (a `*`, an index).
  static func names(_ value: Any?) -> [String]? {
    guard let parts = value as? [Any], !parts.isEmpty else { return nil }
    let names = parts.compactMap { (($0 as? [String: Any])?["String"] as? [String: Any])?["sval"] as? String }
    return names.count == parts.count ? names : nil
  }
}
