import Catalog
import CleaveCore
import SQLParser

extension DatabaseCatalog {
  /// The table a plan entry names, or an error that suggests the closest existing name.
  func existingTable(_ entry: Located<String>, what: String) throws(CleaveError) -> QualifiedName {
    let name = TablePattern(entry.value).qualified
    guard table(name) == nil else { return name }
    let guess = Spelling.closest(to: name.description, in: tables.map(\.name.description))
    let viewNote = views.contains { $0.name == name } ? " (\(name) is a view; services own tables)" : ""
    throw CleaveError(
      .planUnknownTable, "\(what) \(name) does not exist in the source\(viewNote)",
      hint: guess.map { "did you mean \($0)?" } ?? "run `cleave inspect SOURCE_URL` to list the tables",
      at: entry.location)
  }

  /// The table or view a name in SQL means: qualified as written, else `public`, else the one schema that has it.
  func relations(named reference: TableReference) -> [QualifiedName] {
    let relations = tables.map(\.name) + views.map(\.name)
    if let schema = reference.schema {
      let name = QualifiedName(schema, reference.name)
      return relations.contains(name) ? [name] : []
    }
    let matches = relations.filter { $0.name == reference.name }
    if let inPublic = matches.first(where: { $0.schema == "public" }) { return [inPublic] }
    return matches.count == 1 ? matches : []
  }
}
