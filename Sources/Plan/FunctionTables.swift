import Catalog
import SQLParser

extension DatabaseCatalog {
  /// The tables a function touches: what the catalog records (`BEGIN ATOMIC` bodies), plus what its body says
  /// when parsed (`sql` and `plpgsql`); `evidence` says which (`catalog`, `parsed`, `catalog+parsed`).
  ///
  /// Dynamic SQL (`EXECUTE`) is not seen: a function that builds its queries as strings touches what they name.
  public func tablesTouched(by function: Function) -> (tables: Set<QualifiedName>, evidence: String) {
    var parsed: Set<TableReference> = []
    if function.language == "sql", let body = function.body {
      parsed = (try? SQLParser.tableReferences(in: body)) ?? []
    } else if function.language == "plpgsql", let definition = function.definition {
      parsed = (try? SQLParser.tableReferences(inPLpgSQLFunction: definition)) ?? []
    }
    let found = Set(parsed.flatMap(relations(named:)))
    let evidence = found.isEmpty ? "catalog" : function.dependsOn.isEmpty ? "parsed" : "catalog+parsed"
    return (found.union(function.dependsOn), evidence)
  }
}
