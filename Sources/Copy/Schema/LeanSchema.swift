import Catalog
import Plan
import PostgresDriver

/// The objects of the source that hold no data (types, domains, extensions, functions, schemas, collations,
/// operators) and that a service does not need: left out of its database, so it gets exactly what its tables use.
///
/// What a service needs is found by following `pg_depend` on the source from its relations: their parts
/// (columns' defaults, constraints, indexes, triggers, rules, row types), then everything those refer to (a
/// column's enum, an index's operator class and so its extension, a trigger's function and that function's
/// types), transitively, together with the parts of each (a domain's checks). Types a transform names (an added
/// column's `type`, a re-key's `take` column) are needed too. Functions nothing needs are kept when they touch
/// only the service's tables or none (the application may call them) and need nothing the tables do not; a
/// function that touches another service's tables, or would bring in a type or extension of its own, is left out.
struct LeanSchema: Sendable {
  /// (catalog OID, object OID) of every object left out.
  var excluded: Set<SchemaSelection.ObjectID>
  /// What `pg_dump` writes after `COMMENT` for each object left out, by schema (`-` for extensions and schemas):
  /// `TYPE "Unused"`, `EXTENSION pg_trgm`, `FUNCTION touch()`.
  var commentTags: [String: [String]]

  static func compute(
    service: ServicePlan, relations: Set<QualifiedName>, catalog: DatabaseCatalog, snapshot source: SerialConnection
  ) async throws(PostgresError) -> LeanSchema {
    // The types of the columns the projection adds or re-keys, which no source column of the table has.
    var types: [String] = []
    for name in service.tables {
      guard let table = catalog.table(name) else { continue }
      let projection = TableProjection(table: table, service: service, catalog: catalog)
      types += projection.columns.filter { $0.origin != .source }.map(\.type)
    }
    let owned = Set(service.tables)
    let candidates = catalog.functions.compactMap { function -> Int? in
      guard let oid = function.oid else { return nil }
      return catalog.tablesTouched(by: function).tables.isSubset(of: owned) ? oid : nil
    }
    let rows = try await source.query(
      query,
      [
        PostgresArray.literal(relations.map(\.quoted)), PostgresArray.literal(types),
        PostgresArray.literal(candidates.map(String.init)),
      ]
    ).namedRows
    var lean = LeanSchema(excluded: [], commentTags: [:])
    for row in rows {
      lean.excluded.insert(SchemaSelection.ObjectID(catalog: row.int("classid"), object: row.int("objid")))
      let tag = row.string("tag")
      if !tag.isEmpty { lean.commentTags[row.string("schema"), default: []].append(tag) }
    }
    return lean
  }

  /// Whether `remainder` (a `COMMENT` entry's text after its schema: `TYPE "Unused" postgres`) is about an
  /// object left out.
  func excludesComment(schema: String, remainder: String) -> Bool {
    (commentTags[schema] ?? []).contains { remainder == $0 || remainder.hasPrefix($0 + " ") }
  }

  /// Every object left out, with its comment tag.
  ///
  /// `$1` is the service's relations, `$2` the types its transforms name, `$3` the functions that touch only its
  /// tables or none.
  static let query = """
    WITH RECURSIVE kept AS (
      SELECT to_regclass(name)::oid AS oid FROM unnest($1::text[]) AS name
    ), parts(classid, objid) AS (
      SELECT 'pg_class'::regclass::oid, oid FROM kept WHERE oid IS NOT NULL
      UNION
      SELECT d.classid, d.objid FROM pg_depend d JOIN parts p ON d.refclassid = p.classid AND d.refobjid = p.objid
      WHERE d.deptype IN ('a', 'i')
    ), needed(classid, objid) AS (
      SELECT classid, objid FROM parts
      UNION
      SELECT 'pg_type'::regclass::oid, to_regtype(t)::oid FROM unnest($2::text[]) AS t WHERE to_regtype(t) IS NOT NULL
      UNION
      SELECT CASE WHEN d.classid = n.classid AND d.objid = n.objid THEN d.refclassid ELSE d.classid END,
        CASE WHEN d.classid = n.classid AND d.objid = n.objid THEN d.refobjid ELSE d.objid END
      FROM pg_depend d JOIN needed n ON
        (d.classid = n.classid AND d.objid = n.objid AND d.deptype IN ('n', 'a', 'i', 'e')
          AND d.refclassid <> 'pg_class'::regclass)
        OR (d.refclassid = n.classid AND d.refobjid = n.objid AND d.deptype IN ('a', 'i')
          AND d.classid <> 'pg_class'::regclass)
    ), functions AS (
      SELECT c.oid FROM unnest($3::int8[]) AS c(oid)
      WHERE NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = c.oid AND d.deptype = 'n'
          AND d.refclassid IN ('pg_type'::regclass, 'pg_extension'::regclass, 'pg_collation'::regclass,
            'pg_operator'::regclass)
          AND NOT EXISTS (SELECT 1 FROM needed n WHERE n.classid = d.refclassid AND n.objid = d.refobjid))
    ), wanted(classid, objid) AS (
      SELECT classid, objid FROM needed
      UNION SELECT 'pg_proc'::regclass::oid, oid::oid FROM functions
      UNION SELECT 'pg_namespace'::regclass::oid, p.pronamespace FROM functions f JOIN pg_proc p ON p.oid = f.oid
    ), user_namespace AS (
      SELECT oid, nspname FROM pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
    ), objects(classid, objid, schema, tag) AS (
      SELECT 'pg_type'::regclass::oid, t.oid, n.nspname,
        CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || quote_ident(t.typname)
      FROM pg_type t JOIN user_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('b', 'c', 'd', 'e', 'm', 'r')
        AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      UNION ALL
      SELECT 'pg_proc'::regclass::oid, p.oid, n.nspname,
        CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' WHEN 'a' THEN 'AGGREGATE ' ELSE 'FUNCTION ' END
          || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
      FROM pg_proc p JOIN user_namespace n ON n.oid = p.pronamespace
      UNION ALL
      SELECT 'pg_extension'::regclass::oid, e.oid, '-', 'EXTENSION ' || quote_ident(e.extname)
      FROM pg_extension e WHERE e.extname <> 'plpgsql'
      UNION ALL
      SELECT 'pg_namespace'::regclass::oid, n.oid, '-', 'SCHEMA ' || quote_ident(n.nspname)
      FROM user_namespace n WHERE n.nspname <> 'public'
      UNION ALL
      SELECT 'pg_collation'::regclass::oid, c.oid, n.nspname, ''
      FROM pg_collation c JOIN user_namespace n ON n.oid = c.collnamespace
      UNION ALL
      SELECT 'pg_operator'::regclass::oid, o.oid, n.nspname, ''
      FROM pg_operator o JOIN user_namespace n ON n.oid = o.oprnamespace
      UNION ALL
      SELECT 'pg_opclass'::regclass::oid, o.oid, n.nspname, ''
      FROM pg_opclass o JOIN user_namespace n ON n.oid = o.opcnamespace
      UNION ALL
      SELECT 'pg_opfamily'::regclass::oid, o.oid, n.nspname, ''
      FROM pg_opfamily o JOIN user_namespace n ON n.oid = o.opfnamespace
    )
    SELECT o.classid::int8 AS classid, o.objid::int8 AS objid, o.schema, o.tag FROM objects o
    WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.classid = o.classid AND w.objid = o.objid)
    """
}
