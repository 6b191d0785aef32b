import Catalog
import CleaveCore

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

}
