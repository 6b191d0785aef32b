import Catalog
import Plan
import PostgresDriver

/// Which objects of the source's schema a service database gets.
///
/// Kept: the service's tables (partitions included), views and materialized views that read only those tables,
/// sequences that its columns own or draw from (pgcopydb #817: a `nextval()` default on a sequence no column
/// owns), and of the objects that hold no data (schemas, types, domains, functions, aggregates, extensions) only
/// those its relations need (`LeanSchema`). Excluded: every other relation, everything that depends on an
/// excluded object (found by following `pg_depend` on the source: foreign keys to another service's tables,
/// indexes and triggers of other tables, functions that return another service's row type), and what it does
/// not need (another service's enums, an extension only the monolith uses).
struct SchemaSelection: Sendable {
  /// Relations the service database gets.
  var relations: Set<QualifiedName>
  /// (catalog OID, object OID) pairs of every excluded object.
  var excluded: Set<ObjectID>
  /// Excluded relations by schema and name, for entries of the archive that carry no OID.
  var excludedRelationNames: Set<QualifiedName>
  /// For each index, the table it belongs to (for `INDEX ATTACH` entries, which carry no OID).
  var indexTables: [QualifiedName: QualifiedName]
  /// For each sequence owned by a column, that column's table (for `SEQUENCE OWNED BY` entries).
  var sequenceOwners: [QualifiedName: QualifiedName] = [:]
  /// The objects without data the service does not need, and their comments.
  var lean = LeanSchema(excluded: [], commentTags: [:])

  /// A catalog object: its system catalog's OID and its own.
  struct ObjectID: Hashable, Sendable {
    var catalog: Int
    var object: Int
  }

  static func compute(
    service: ServicePlan, catalog: DatabaseCatalog, snapshot source: SerialConnection
  ) async throws(PostgresError) -> SchemaSelection {
    let owned = Set(service.tables)
    var keep = owned
    for view in catalog.views {
      let reads = catalog.tablesRead(by: view.name)
      if !reads.isEmpty, reads.isSubset(of: owned) { keep.insert(view.name) }
    }
    for sequence in catalog.sequences {
      let users = sequence.usedBy.map(\.table) + (sequence.ownedBy.map { [$0.table] } ?? [])
      if users.contains(where: owned.contains) { keep.insert(sequence.name) }
    }
    let keptNames = keep.map { $0.quoted }
    // Every relation not kept, then everything that depends on one of them, transitively. Sequences the
    // service needs are kept even when they are owned by another service's column.
    let closure = try await source.query(
      """
      WITH RECURSIVE kept AS (
        SELECT to_regclass(name)::oid AS oid FROM unnest($1::text[]) AS name
      ), excluded(classid, objid) AS (
        SELECT 'pg_class'::regclass::oid, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND c.oid NOT IN (SELECT oid FROM kept WHERE oid IS NOT NULL)
        UNION
        SELECT d.classid, d.objid FROM pg_depend d JOIN excluded e ON d.refclassid = e.classid AND d.refobjid = e.objid
        WHERE d.deptype IN ('n', 'a', 'i')
          AND NOT (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT oid FROM kept WHERE oid IS NOT NULL))
      )
      SELECT e.classid::int8 AS classid, e.objid::int8 AS objid, n.nspname AS schema, c.relname AS name
      FROM excluded e LEFT JOIN pg_class c ON e.classid = 'pg_class'::regclass AND c.oid = e.objid
        LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
      """,
      [
        "{"
          + keptNames.map {
            "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
          }.joined(separator: ",") + "}"
      ])
    var excluded: Set<ObjectID> = []
    var excludedNames: Set<QualifiedName> = []
    for row in closure.namedRows {
      excluded.insert(ObjectID(catalog: row.int("classid"), object: row.int("objid")))
      if let name = row["name"] { excludedNames.insert(QualifiedName(row.string("schema"), name)) }
    }
    var indexTables: [QualifiedName: QualifiedName] = [:]
    let indexes = try await source.query(
      """
      SELECT n.nspname AS schema, i.relname AS index, tn.nspname AS table_schema, t.relname AS table
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
        JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
      """)
    for row in indexes.namedRows {
      indexTables[QualifiedName(row.string("schema"), row.string("index"))] = QualifiedName(
        row.string("table_schema"), row.string("table"))
    }
    var selection = SchemaSelection(
      relations: keep, excluded: excluded, excludedRelationNames: excludedNames, indexTables: indexTables)
    for sequence in catalog.sequences {
      if let owner = sequence.ownedBy?.table { selection.sequenceOwners[sequence.name] = owner }
    }
    // The keys of tables that keep their orphans (`on_orphan: keep-as-soft-reference`) are not created.
    let rule = OrphanRule(service: service, catalog: catalog)
    for table in service.tables {
      for key in rule.keysNotCreated(from: table) {
        let found = try await source.query(
          "SELECT oid::int8 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
          [table.quoted, key.name])
        for row in found.rows {
          if let oid = row[0].flatMap({ Int($0) }) { excluded.insert(.init(catalog: 2606, object: oid)) }
        }
      }
    }
    selection.excluded = excluded
    selection.lean = try await LeanSchema.compute(
      service: service, relations: keep, catalog: catalog, snapshot: source)
    return selection
  }

  /// Whether an archive entry belongs in the service database.
  func includes(_ entry: TOCEntry) -> Bool {
    // The source's publications and subscriptions (its own replication, or `cleave online`'s) are not the
    // service's: a service database that published or subscribed because its source did would be wrong.
    if entry.kind.hasPrefix("PUBLICATION") || entry.kind == "SUBSCRIPTION"
      || entry.line.contains(" COMMENT - PUBLICATION ") || entry.line.contains(" COMMENT - SUBSCRIPTION ")
    {
      return false
    }
    // Cleave's own event triggers on the source (the freeze's DDL guard, `cleave online`'s DDL watch) call functions
    // in Cleave's schemas, which are not copied.
    if entry.line.contains(" EVENT TRIGGER - cleave_") || entry.line.contains(" COMMENT - EVENT TRIGGER cleave_") {
      return false
    }
    if entry.catalogOID != 0 {
      let object = ObjectID(catalog: entry.catalogOID, object: entry.objectOID)
      return !excluded.contains(object) && !lean.excluded.contains(object)
    }
    // Entries without an OID name their object after the kind: `TABLE ATTACH public payment_p2022_01 owner`.
    let words = entry.line.split(separator: " ").map(String.init)
    let kind = entry.kind
    let kindWords = kind.split(separator: " ").count
    guard words.count >= 3 + kindWords + 2 else { return true }
    let schema = words[3 + kindWords]
    let name = words[(4 + kindWords)..<(words.count - 1)].joined(separator: " ")
    switch kind {
    case "TABLE ATTACH":
      return !excludedRelationNames.contains(QualifiedName(schema, name))
    case "INDEX ATTACH":
      guard let table = indexTables[QualifiedName(schema, name)] else { return true }
      return !excludedRelationNames.contains(table)
    case "SEQUENCE OWNED BY":
      // Kept only with both the sequence and the table that owns it (a sequence kept because this service's
      // default draws from it, but owned by another service's column, stays without an owner).
      let sequence = QualifiedName(schema, name)
      guard !excludedRelationNames.contains(sequence) else { return false }
      return sequenceOwners[sequence].map { !excludedRelationNames.contains($0) } ?? true
    case "COMMENT", "SECURITY LABEL", "ACL":
      // After `COMMENT <schema> `: what the comment is on, then the owner (`TYPE "Unused" postgres`).
      if let range = entry.line.range(of: " \(kind) \(schema) "),
        lean.excludesComment(schema: schema, remainder: String(entry.line[range.upperBound...]))
      {
        return false
      }
      return !mentionsExcludedRelation(schema: schema, words: Array(words[(4 + kindWords)..<(words.count - 1)]))
    default:
      return !excludedRelationNames.contains(QualifiedName(schema, name))
    }
  }

  /// For `COMMENT public TABLE film`, `COMMENT public COLUMN film.title`, `COMMENT public CONSTRAINT c ON film`.
  private func mentionsExcludedRelation(schema: String, words: [String]) -> Bool {
    var candidates: [String] = []
    if let on = words.firstIndex(of: "ON"), on + 1 < words.count {
      candidates.append(words[(on + 1)...].joined(separator: " "))
    }
    if words.count >= 2 {
      let name = words[1...].joined(separator: " ")
      candidates.append(name)
      if words[0] == "COLUMN", let dot = name.lastIndex(of: ".") { candidates.append(String(name[..<dot])) }
    }
    return candidates.contains { excludedRelationNames.contains(QualifiedName(schema, $0)) }
  }
}
