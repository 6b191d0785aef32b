/// The catalog queries `CatalogReader` runs, one per kind of object.
///
/// System schemas (`pg_catalog`, `information_schema`, `pg_toast`, temporary schemas) and objects that belong to
/// an extension are left out everywhere: they come with the extension, not with a service's data. So is
/// `_cleave_online`, the heartbeat and journal of `cleave online` on the source and the service databases.
enum CatalogQueries {
  static let userSchemaFilter = """
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname <> '_cleave_online'
    """

  static func notExtensionMember(_ catalog: String, _ oid: String) -> String {
    """
    NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '\(catalog)'::regclass AND e.objid = \(oid)
      AND e.deptype = 'e')
    """
  }

  static let schemas = """
    SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner
    FROM pg_namespace n
    WHERE \(userSchemaFilter) AND \(notExtensionMember("pg_namespace", "n.oid"))
    ORDER BY 1
    """

  static let tables = """
    SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
      c.relpersistence::text AS persistence, pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
      CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
      CASE WHEN c.relkind = 'p'
        THEN (SELECT COALESCE(sum(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
        ELSE pg_total_relation_size(c.oid) END::int8 AS size_bytes,
      CASE WHEN c.relkind = 'p'
        THEN (SELECT COALESCE(sum(pg_table_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
        ELSE pg_table_size(c.oid) END::int8 AS row_bytes,
      CASE WHEN c.relkind = 'p'
        THEN (SELECT CASE WHEN bool_or(pc.reltuples < 0) THEN NULL ELSE COALESCE(sum(pc.reltuples), 0) END
              FROM pg_partition_tree(c.oid) t JOIN pg_class pc ON pc.oid = t.relid WHERE t.isleaf)
        WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples END::int8 AS row_estimate
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't' AND \(userSchemaFilter)
      AND \(notExtensionMember("pg_class", "c.oid"))
    ORDER BY 2, 3
    """

  static let parents = """
    SELECT i.inhrelid::int8 AS child, pn.nspname AS schema, pc.relname AS name, c.relispartition AS is_partition
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    WHERE pc.relkind IN ('r', 'p', 'f')
    ORDER BY 1, i.inhseqno
    """

  static let columns = """
    SELECT a.attrelid::int8 AS table_oid, a.attnum::int AS position, a.attname AS name,
      format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
      CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_expr,
      CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated_expr,
      a.attidentity::text AS identity,
      CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
        THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
              JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND \(userSchemaFilter)
    ORDER BY 1, 2
    """

  /// For each column, the user-defined types its type is or is built on (array elements, domain bases).
  static let columnTypes = """
    WITH RECURSIVE type_deps(attrelid, attnum, type_oid) AS (
      SELECT a.attrelid, a.attnum, a.atttypid
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND \(userSchemaFilter)
      UNION
      SELECT d.attrelid, d.attnum, v.x FROM type_deps d JOIN pg_type t ON t.oid = d.type_oid,
        LATERAL (VALUES (NULLIF(t.typelem, 0)), (NULLIF(t.typbasetype, 0))) v(x)
      WHERE v.x IS NOT NULL
    )
    SELECT d.attrelid::int8 AS table_oid, d.attnum::int AS position, un.nspname AS schema, ut.typname AS name
    FROM type_deps d JOIN pg_type ut ON ut.oid = d.type_oid JOIN pg_namespace un ON un.oid = ut.typnamespace
    WHERE (ut.typtype IN ('e', 'd') OR (ut.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = ut.typrelid) = 'c'))
      AND un.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1, 2, 3, 4
    """

  /// Primary and unique keys of every table, partitions included (each partition has its own index), unique
  /// indexes that back no constraint (Prisma writes `@unique` as `CREATE UNIQUE INDEX`) counted as unique keys, and the
  /// foreign keys declared on a table itself: the copies PostgreSQL clones onto partitions (`conparentid <> 0`)
  /// are left out, so each foreign key is reported once, on the table that declares it.
  static let constraints = """
    SELECT con.conrelid::int8 AS table_oid, con.conname AS name, con.contype::text AS type,
      ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
      fn.nspname AS ref_schema, fc.relname AS ref_table,
      ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
      pg_get_constraintdef(con.oid) AS definition
    FROM pg_constraint con
      LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    WHERE con.contype IN ('p', 'u', 'f') AND con.conrelid <> 0 AND (con.contype <> 'f' OR con.conparentid = 0)
    UNION ALL
    SELECT x.indrelid::int8, i.relname, 'u',
      ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.ord),
      NULL, NULL, ARRAY[]::name[], pg_get_indexdef(x.indexrelid)
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indisunique AND NOT x.indisprimary AND x.indpred IS NULL AND x.indexprs IS NULL
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
      AND x.indrelid IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
    ORDER BY 1, 2
    """

  static let sequences = """
    SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type,
      s.seqstart AS start, s.seqincrement AS increment, ps.last_value,
      dn.nspname AS owner_schema, dc.relname AS owner_table, da.attname AS owner_column
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = c.relname
      LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      LEFT JOIN pg_class dc ON dc.oid = d.refobjid LEFT JOIN pg_namespace dn ON dn.oid = dc.relnamespace
      LEFT JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid
    WHERE \(userSchemaFilter) AND \(notExtensionMember("pg_class", "c.oid"))
    ORDER BY 2, 3
    """

  static let sequenceUsers = """
    SELECT d.refobjid::int8 AS sequence_oid, tn.nspname AS schema, tc.relname AS table_name, a.attname AS column_name
    FROM pg_depend d JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
      JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
      JOIN pg_class tc ON tc.oid = ad.adrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    WHERE d.refclassid = 'pg_class'::regclass
    ORDER BY 1, 2, 3, 4
    """

  static let types = """
    SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name,
      CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'composite' END AS kind,
      ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
      CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
      ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid ORDER BY c.conname)
        AS constraints,
      ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum) AS attributes
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND \(userSchemaFilter) AND \(notExtensionMember("pg_type", "t.oid"))
    ORDER BY 2, 3
    """

  static let views = """
    SELECT v.oid::int8 AS oid, n.nspname AS schema, v.relname AS name, v.relkind::text AS kind
    FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace
    WHERE v.relkind IN ('v', 'm') AND \(userSchemaFilter) AND \(notExtensionMember("pg_class", "v.oid"))
    ORDER BY 2, 3
    """

  static let viewReads = """
    SELECT DISTINCT r.ev_class::int8 AS view_oid, rn.nspname AS schema, rc.relname AS name
    FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
      JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
      JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE rc.oid <> r.ev_class AND rc.relkind IN ('r', 'p', 'f', 'v', 'm')
    ORDER BY 1, 2, 3
    """

  static let functions = """
    SELECT p.oid::int8 AS oid, n.nspname AS schema, p.proname AS name,
      pg_get_function_identity_arguments(p.oid) AS arguments, l.lanname AS language,
      CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
        ELSE 'window' END AS kind,
      CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc END AS body,
      CASE WHEN l.lanname IN ('sql', 'plpgsql') AND p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END
        AS definition
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE \(userSchemaFilter) AND \(notExtensionMember("pg_proc", "p.oid"))
    ORDER BY 2, 3, 4
    """

  static let functionDependencies = """
    SELECT DISTINCT d.objid::int8 AS function_oid, dn.nspname AS schema, dc.relname AS name
    FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid JOIN pg_namespace dn ON dn.oid = dc.relnamespace
    WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_class'::regclass AND dc.relkind IN ('r', 'p', 'f')
    ORDER BY 1, 2, 3
    """

  static let triggers = """
    SELECT tg.tgname AS name, tn.nspname AS schema, tc.relname AS table_name, fn.nspname AS function_schema,
      f.proname AS function_name, pg_get_triggerdef(tg.oid) AS definition, tg.tgenabled <> 'D' AS enabled
    FROM pg_trigger tg JOIN pg_class tc ON tc.oid = tg.tgrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      JOIN pg_proc f ON f.oid = tg.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
    WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
    ORDER BY 2, 3, 1
    """

  static let extensions = """
    SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    ORDER BY 1
    """
}
