import Catalog
import CleaveCore
import PostgresDriver

/// The post-data steps of one service that are still to do, each with the tables it is on, read from the source's
/// catalog inside the copy's snapshot (the archive's list names an index but not its table).
enum PostDataSteps {
  /// The service's post-data entries an earlier run did not finish, in archive order.
  ///
  /// - Parameters:
  ///   - archive: the run's schema dump.
  ///   - state: the service, its selection and what earlier runs finished.
  ///   - catalog: the source's catalog, for table sizes.
  ///   - reader: a session in the copy's snapshot.
  /// - Returns: every step still to do.
  /// - Throws: `PostgresError` when the source cannot be read.
  static func pending(
    archive: SchemaArchive, state: ServiceState, catalog: DatabaseCatalog, reader: SerialConnection
  ) async throws -> [PostDataStep] {
    let entries = archive.postData.filter(state.selection.includes).filter {
      state.finished[PostDataStep.progressStep(of: $0)] == nil
    }
    guard !entries.isEmpty else { return [] }
    let facts = try await relations(of: entries, reader: reader)
    return entries.map { entry in
      let fact = facts[.init(catalog: entry.catalogOID, object: entry.objectOID)]
      let known = fact != nil
      var tables: Set<QualifiedName> = known ? Set(fact?.tables ?? []) : []
      if entry.kind == "INDEX ATTACH" { tables = [] }
      let role: PostDataStep.Role =
        switch entry.kind {
        case "INDEX", "CONSTRAINT", "CHECK CONSTRAINT": known && !tables.isEmpty ? .build : .other
        case "FK CONSTRAINT": known && !tables.isEmpty ? .foreignKey : .other
        case "TRIGGER": known && !tables.isEmpty ? .trigger : .other
        case "INDEX ATTACH": .attach
        default: .other
        }
      let cost = tables.reduce(Int64(0)) { $0 + (catalog.table($1)?.sizeBytes ?? 0) }
      return PostDataStep(
        service: state.plan.name, entry: entry, role: role, step: PostDataStep.progressStep(of: entry),
        target: state.target.database, tables: tables, table: known ? fact?.tables.first : nil,
        onPartitionedTable: known && (fact?.partitioned ?? false),
        replacement: known ? fact?.replacement : nil, cost: cost)
    }
  }

  /// What the catalog says of an entry's object: its tables, and a replacement for a key.
  struct Fact {
    var tables: [QualifiedName]
    var partitioned: Bool
    var replacement: String?
  }

  /// The tables of every index, constraint and trigger among `entries`, by object OID.
  ///
  /// A primary key or unique constraint on an ordinary table whose index `ADD CONSTRAINT … USING INDEX` accepts (a
  /// plain b-tree on columns, default order, no predicate, default tablespace) gets a replacement: the index as
  /// `pg_get_indexdef` writes it with every name qualified, then the constraint made from it, with the same
  /// deferrability. The result is the same constraint and index as the archive's statement makes.
  static func relations(of entries: [TOCEntry], reader: SerialConnection) async throws
    -> [SchemaSelection.ObjectID: Fact]
  {
    let oids = PostgresArray.literal(Set(entries.map(\.objectOID)).map(String.init))
    // Every name qualified: the statement runs on the target under pg_restore's empty search_path.
    try await reader.execute("SAVEPOINT cleave_post_data; SET LOCAL search_path = ''")
    let rows: QueryResult
    do {
      rows = try await reader.query(
        """
        WITH objects AS (
          SELECT 2606 AS catalog, c.oid, c.conrelid AS rel, nullif(c.confrelid, 0) AS other,
            CASE WHEN c.contype IN ('p', 'u') AND t.relkind = 'r' AND ic.reltablespace = 0 AND i.indexprs IS NULL
              AND i.indpred IS NULL AND am.amname = 'btree' AND 0 = ALL (i.indoption::int2[])
              AND NOT coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false)
            THEN pg_get_indexdef(c.conindid) || '; ' || format('ALTER TABLE ONLY %I.%I ADD CONSTRAINT %I %s USING INDEX %I',
              tn.nspname, t.relname, c.conname, CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, ic.relname)
              || CASE WHEN c.condeferrable THEN ' DEFERRABLE' ELSE '' END
              || CASE WHEN c.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END || ';'
            END AS replacement
          FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
            LEFT JOIN pg_index i ON i.indexrelid = c.conindid LEFT JOIN pg_class ic ON ic.oid = c.conindid
            LEFT JOIN pg_am am ON am.oid = ic.relam
          WHERE c.oid = ANY ($1::oid[])
          UNION ALL
          SELECT 1259, indexrelid, indrelid, NULL, NULL FROM pg_index WHERE indexrelid = ANY ($1::oid[])
          UNION ALL
          SELECT 2620, oid, tgrelid, NULL, NULL FROM pg_trigger WHERE oid = ANY ($1::oid[])
        )
        SELECT o.catalog, o.oid::int8 AS oid, o.replacement, rn.nspname AS schema, r.relname AS name,
          r.relkind = 'p' AS partitioned, fn.nspname AS other_schema, f.relname AS other_name,
          coalesce(f.relkind = 'p', false) AS other_partitioned
        FROM objects o JOIN pg_class r ON r.oid = o.rel JOIN pg_namespace rn ON rn.oid = r.relnamespace
          LEFT JOIN pg_class f ON f.oid = o.other LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
        """, [oids])
    } catch {
      try? await reader.execute("ROLLBACK TO SAVEPOINT cleave_post_data; RELEASE cleave_post_data")
      throw error
    }
    // The savepoint's end takes back the search path.
    try await reader.execute("ROLLBACK TO SAVEPOINT cleave_post_data; RELEASE cleave_post_data")
    var facts: [SchemaSelection.ObjectID: Fact] = [:]
    for row in rows.namedRows {
      var tables = [QualifiedName(row.string("schema"), row.string("name"))]
      if let schema = row["other_schema"], let name = row["other_name"] { tables.append(QualifiedName(schema, name)) }
      facts[.init(catalog: row.int("catalog"), object: row.int("oid"))] = Fact(
        tables: tables,
        partitioned: row.bool("partitioned") || row.bool("other_partitioned"), replacement: row["replacement"])
    }
    return facts
  }
}
