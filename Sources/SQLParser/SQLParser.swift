import CPgQuery
import Foundation

/// Finds which tables a SQL statement touches, using the PostgreSQL parser itself (libpg_query), never patterns
/// over the text.
///
/// It reads every `RangeVar` in the parse tree: FROM and JOIN items, subqueries, CTE bodies, INSERT/UPDATE/DELETE
/// targets, `USING` lists. Names that only refer to a CTE of the same statement are not tables and are left out.
public enum SQLParser {
  /// The tables `sql` (one or more statements; `$1` placeholders allowed) reads or writes.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the text.
  public static func tableReferences(in sql: String) throws(SQLParseError) -> Set<TableReference> {
    let tree = try parseTree(sql)
    var ctes: Set<String> = []
    var references: Set<TableReference> = []
    walk(tree) { key, value in
      if key == "CommonTableExpr", let cte = value as? [String: Any], let name = cte["ctename"] as? String {
        ctes.insert(name)
      }
      // A RangeVar appears wrapped (`{"RangeVar": {…}}`) where the tree holds any node, and bare where the
      // field is typed RangeVar (INSERT/UPDATE/DELETE's `relation`); both carry `relname` and `relpersistence`.
      if let range = value as? [String: Any], range["relpersistence"] != nil, let name = range["relname"] as? String {
        references.insert(TableReference(schema: range["schemaname"] as? String, name: name))
      }
    }
    return references.filter { $0.schema != nil || !ctes.contains($0.name) }
  }

  /// The tables `sql` writes: the targets of INSERT, UPDATE, DELETE and MERGE (in data-modifying CTEs too),
  /// `COPY … FROM` and TRUNCATE.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the text.
  public static func writtenTables(in sql: String) throws(SQLParseError) -> Set<TableReference> {
    let tree = try parseTree(sql)
    var written: Set<TableReference> = []
    func add(_ node: Any?) {
      guard let range = node as? [String: Any] else { return }
      let bare = (range["RangeVar"] as? [String: Any]) ?? range
      if let name = bare["relname"] as? String {
        written.insert(TableReference(schema: bare["schemaname"] as? String, name: name))
      }
    }
    walk(tree) { key, value in
      guard let statement = value as? [String: Any] else { return }
      switch key {
      case "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt": add(statement["relation"])
      case "CopyStmt" where statement["is_from"] as? Bool == true: add(statement["relation"])
      case "TruncateStmt": for relation in (statement["relations"] as? [Any]) ?? [] { add(relation) }
      default: break
      }
    }
    return written
  }

  /// The tables a PL/pgSQL function touches, from its full `CREATE FUNCTION` text (`pg_get_functiondef`).
  ///
  /// The PL/pgSQL parser splits the body into its embedded SQL; each piece is then parsed as SQL. An assignment
  /// (`v := expr`) is parsed as `SELECT expr`. Dynamic SQL (`EXECUTE 'text'`) cannot be seen and is not reported.
  ///
  /// - Throws: `SQLParseError` when the PL/pgSQL parser rejects the function.
  public static func tableReferences(inPLpgSQLFunction definition: String) throws(SQLParseError) -> Set<
    TableReference
  > {
    let result = pg_query_parse_plpgsql(definition)
    defer { pg_query_free_plpgsql_parse_result(result) }
    if let error = result.error {
      throw SQLParseError(message: String(cString: error.pointee.message), position: Int(error.pointee.cursorpos))
    }
    guard let json = result.plpgsql_funcs,
      let tree = try? JSONSerialization.jsonObject(with: Data(String(cString: json).utf8))
    else { return [] }
    var references: Set<TableReference> = []
    walk(tree) { key, value in
      guard key == "PLpgSQL_expr", let expr = value as? [String: Any], let query = expr["query"] as? String else {
        return
      }
      for candidate in statementCandidates(forEmbedded: query) {
        if let found = try? tableReferences(in: candidate) {
          references.formUnion(found)
          break
        }
      }
    }
    return references
  }

  /// Embedded PL/pgSQL SQL is a whole statement (`SELECT …`, `INSERT …`), an expression, or `target := expr`.
  private static func statementCandidates(forEmbedded query: String) -> [String] {
    var candidates = [query, "SELECT " + query]
    if let assignment = query.range(of: ":=") {
      candidates.append("SELECT " + query[assignment.upperBound...])
    }
    return candidates
  }

  /// The columns a SQL expression over one row reads, in the order written.
  ///
  /// `first_name || ' ' || last_name` reads two. Each is given as the parts written (`["c", "email"]` for `c.email`). The expression is parsed as `SELECT (expression)`.
  /// Columns inside a subquery (`id IN (SELECT id FROM other WHERE …)`) are the subquery's own tables' and are
  /// left out: the server resolves them when the expression is prepared.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the expression; positions count within `expression`.
  public static func columnReferences(inExpression expression: String) throws(SQLParseError) -> [[String]] {
    let prefix = "SELECT ("
    let tree: Any
    do { tree = try parseTree(prefix + expression + "\n)") } catch {
      var shifted = error
      shifted.position = error.position.map { max(1, $0 - prefix.count) }
      throw shifted
    }
    var columns: [(location: Int, names: [String])] = []
    walk(tree, skipping: "subselect") { key, value in
      guard key == "ColumnRef", let ref = value as? [String: Any], let fields = ref["fields"] as? [Any] else { return }
      let names = fields.compactMap { (($0 as? [String: Any])?["String"] as? [String: Any])?["sval"] as? String }
      if names.count == fields.count { columns.append(((ref["location"] as? Int) ?? 0, names)) }
    }
    return columns.sorted { $0.location < $1.location }.map(\.names)
  }

  /// What a SQL expression over one row makes the server call: functions, operators and casts, as written.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the expression.
  public static func calls(inExpression expression: String) throws(SQLParseError) -> ExpressionCalls {
    ExpressionCalls(tree: try parseTree("SELECT (" + expression + "\n)"))
  }

  /// The names of every column a statement names anywhere (the last part of each reference: `email` for
  /// `u.email`), subqueries included; `*` is not a name.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the text.
  public static func columnNames(in sql: String) throws(SQLParseError) -> Set<String> {
    var names: Set<String> = []
    walk(try parseTree(sql)) { key, value in
      guard key == "ColumnRef", let ref = value as? [String: Any], let fields = ref["fields"] as? [Any],
        let last = ((fields.last as? [String: Any])?["String"] as? [String: Any])?["sval"] as? String
      else { return }
      names.insert(last)
    }
    return names
  }

  /// What one or more whole statements make the server call: functions, operators and casts, as written.
  ///
  /// - Throws: `SQLParseError` when the parser rejects the text.
  public static func calls(in sql: String) throws(SQLParseError) -> ExpressionCalls {
    ExpressionCalls(tree: try parseTree(sql))
  }

  /// Whether the parser accepts `sql`.
  public static func isValid(_ sql: String) -> Bool {
    (try? parseTree(sql)) != nil
  }

  static func parseTree(_ sql: String) throws(SQLParseError) -> Any {
    let result = pg_query_parse(sql)
    defer { pg_query_free_parse_result(result) }
    if let error = result.error {
      throw SQLParseError(message: String(cString: error.pointee.message), position: Int(error.pointee.cursorpos))
    }
    guard let json = result.parse_tree,
      let tree = try? JSONSerialization.jsonObject(with: Data(String(cString: json).utf8))
    else { throw SQLParseError(message: "the parser returned no tree", position: nil) }
    return tree
  }

  /// Calls `visit` with every key and value of every object in a JSON tree, depth first, not going below a key
  /// called `skipping`.
  static func walk(_ node: Any, skipping: String? = nil, _ visit: (String, Any) -> Void) {
    if let object = node as? [String: Any] {
      for (key, value) in object where key != skipping {
        visit(key, value)
        walk(value, skipping: skipping, visit)
      }
    } else if let array = node as? [Any] {
      for element in array { walk(element, skipping: skipping, visit) }
    }
  }
}
