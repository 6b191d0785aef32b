/// One entry of a `pg_dump -Fc` archive's table of contents, as `pg_restore -l` lists it:
/// `3517; 2620 16668 TRIGGER public film film_fulltext_trigger postgres`.
struct TOCEntry: Sendable, Hashable {
  var dumpID: Int
  /// The system catalog of the object (`2606` is pg_constraint) and the object's OID; 0 for entries such as
  /// `TABLE ATTACH` that have none.
  var catalogOID: Int
  var objectOID: Int
  /// The whole line, which `pg_restore -L` reads back.
  var line: String

  /// Parses one line of `pg_restore -l`; comments and blank lines give nil.
  init?(line: String) {
    guard !line.hasPrefix(";"), let semicolon = line.firstIndex(of: ";") else { return nil }
    let fields = line[line.index(after: semicolon)...].split(separator: " ", maxSplits: 2)
    guard let id = Int(line[..<semicolon]), fields.count == 3, let catalog = Int(fields[0]),
      let object = Int(fields[1])
    else { return nil }
    dumpID = id
    catalogOID = catalog
    objectOID = object
    self.line = line
  }

  /// What the entry is: the words after the OIDs up to the schema, such as `FK CONSTRAINT` or `INDEX ATTACH`.
  var kind: String {
    let rest = line.split(separator: " ", maxSplits: 3)
    guard rest.count == 4 else { return "" }
    let words = rest[3].split(separator: " ")
    for length in [3, 2] where words.count > length {
      let candidate = words.prefix(length).joined(separator: " ")
      if Self.multiWordKinds.contains(candidate) { return candidate }
    }
    return words.first.map(String.init) ?? ""
  }

  static let multiWordKinds: Set<String> = [
    "FK CONSTRAINT", "TABLE ATTACH", "INDEX ATTACH", "SEQUENCE OWNED BY", "SEQUENCE SET", "MATERIALIZED VIEW",
    "MATERIALIZED VIEW DATA", "DEFAULT ACL", "EVENT TRIGGER", "TABLE DATA", "ROW SECURITY", "CHECK CONSTRAINT",
    "SHELL TYPE", "PUBLICATION TABLE", "FOREIGN TABLE",
  ]

  /// The pg_constraint catalog's OID, for foreign keys.
  static let constraintCatalog = 2606
}
