import Catalog
import CleaveCore
import PostgresDriver
import SQLParser

/// Checks every transform's SQL against the source before anything runs, so the first command that sees a
/// mistake is `cleave plan` (or whichever command loads the plan), with the place in the plan that caused it.
///
/// Each part is prepared, never executed, inside a read-only transaction on the source: the `where` (which must
/// be a boolean and may not swallow what follows it, as a trailing `--` comment would), each added column's
/// expression cast to its type, and the whole projection the copy will stream. `PREPARE` takes one statement, so
/// SQL that tries to end the statement and start another is refused too.
///
/// Before that, everything the plan's SQL makes the server call (found in libpg_query's parse tree: functions,
/// operators, casts) must be what the source marks immutable or stable: a volatile function may write
/// (`lo_create`, `nextval`) or reach outside the database (`pg_read_file`), even inside a read-only transaction,
/// and would run on the source during copy and verify. A name with any volatile overload is refused, since which
/// overload runs depends on types the parse tree does not know; so is any expression when the source has an
/// implicit cast by a volatile function, which PostgreSQL may run without it being written.
public enum ProjectionCheck {
  /// - Throws: `CleaveError` (`planInvalidTransform`, exit 3) naming the service, the table and the server's
  ///   reason, located at the `where`, the added column or the transform.
  public static func run(_ plan: SplitPlan, catalog: DatabaseCatalog, on connection: SerialConnection) async throws {
    guard plan.services.contains(where: { !$0.transforms.isEmpty }) else { return }
    try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    do {
      let implicitCasts = try await connection.query(Self.volatileImplicitCasts).scalar.flatMap {
        $0.isEmpty ? nil : $0
      }
      for service in plan.services {
        for (root, transform) in service.transforms.sorted(by: { $0.key < $1.key }) {
          guard let table = catalog.table(root) else { continue }
          let from = "ONLY \(root.quoted) AS s"
          func check(_ sql: String, _ what: String, at location: SourceLocation) async throws {
            try await prepare(sql, on: connection, service: service.name, what: what, at: location)
          }
          if let filter = transform.rowFilter {
            try await checkCalls(
              filter.value, implicitCasts: implicitCasts, on: connection, service: service.name,
              what: "the `where` of \(root)", at: filter.location)
          }
          for change in transform.columns {
            guard case .add(let expression, let type) = change.action else { continue }
            // The column's type is a cast the copy runs too.
            try await checkCalls(
              "(\(expression))::\(type)", implicitCasts: implicitCasts, on: connection, service: service.name,
              what: "the added column \(change.column.value) of \(root)", at: change.location)
          }
          if let filter = transform.rowFilter {
            try await check(
              "SELECT 1 FROM \(from) WHERE (\(filter.value))", "the `where` of \(root)", at: filter.location)
          }
          for change in transform.columns {
            guard case .add(let expression, let type) = change.action else { continue }
            try await check(
              "SELECT (\(expression))::\(type) FROM \(from)", "the added column \(change.column.value) of \(root)",
              at: change.location)
          }
          let projection = TableProjection(table: table, service: service, catalog: catalog)
          try await check(projection.select(range: nil), "the projection of \(root)", at: transform.table.location)
        }
      }
    } catch {
      try? await connection.execute("ROLLBACK")
      throw error
    }
    try await connection.execute("ROLLBACK")
  }

  /// Fails when `expression` makes the server call something the source marks volatile: a function (or a
  /// volatile overload of its name), an operator whose name has a volatile overload, a cast to a type whose cast,
  /// input function or domain check is volatile, or, when the source has one, an implicit cast by a volatile
  /// function (PostgreSQL may call it without it being written).
  private static func checkCalls(
    _ expression: String, implicitCasts: String?, on connection: SerialConnection, service: String, what: String,
    at location: SourceLocation
  ) async throws {
    // What does not parse is left to PREPARE, which says why in the server's words.
    guard let calls = try? SQLParser.calls(inExpression: expression) else { return }
    func refuse(_ reason: String) -> CleaveError {
      CleaveError(
        .planInvalidTransform,
        "service \"\(service)\": \(what) \(reason): it could write to the source or read outside it, and would run "
          + "there during copy and verify",
        hint: "use only functions, operators and casts the source marks immutable or stable in a plan's SQL",
        at: location)
    }
    for call in calls.functions {
      if try await volatile(Self.volatileFunctions, call, on: connection) != nil {
        throw refuse("calls \(call.joined(separator: "."))(), which the source marks volatile")
      }
    }
    for call in calls.operators {
      if let found = try await volatile(Self.volatileOperators, call, on: connection) {
        throw refuse("uses the operator \(call.joined(separator: ".")), which the source also has as \(found)")
      }
    }
    for call in calls.types {
      if let found = try await volatile(Self.volatileTypes, call, on: connection) {
        throw refuse("casts to \(call.joined(separator: ".")), which runs a volatile function: \(found)")
      }
    }
    if let implicitCasts {
      throw refuse("may run an implicit cast of the source's without it being written, and \(implicitCasts)")
    }
  }

  /// Runs one of the catalog queries below for a written name (`$1` the name, `$2` its schema if written).
  ///
  /// - Returns: what the source has by that name that is volatile, described; nil when nothing is.
  private static func volatile(_ query: String, _ name: [String], on connection: SerialConnection) async throws
    -> String?
  {
    guard let last = name.last else { return nil }
    let schema = name.count > 1 ? name[name.count - 2] : nil
    return try await connection.query(query, [last, schema]).scalar.flatMap { $0.isEmpty ? nil : $0 }
  }

  static let volatileFunctions = """
    SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY 1)
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2) AND p.provolatile = 'v'
    """

  static let volatileOperators = """
    SELECT string_agg(format('%s, run by the volatile %s', o.oid::regoperator, o.oprcode::regprocedure), '; ' ORDER BY 1)
    FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
      JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
    WHERE o.oprname = $1 AND ($2::text IS NULL OR n.nspname = $2) AND p.provolatile = 'v'
    """

  static let volatileTypes = """
    WITH t AS (
      SELECT t.oid, t.typinput FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typname = $1 AND ($2::text IS NULL OR n.nspname = $2))
    SELECT string_agg(what, '; ' ORDER BY what) FROM (
      SELECT format('the cast from %s by %s', c.castsource::regtype, c.castfunc::regprocedure) AS what
      FROM pg_catalog.pg_cast c JOIN t ON c.casttarget = t.oid JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
      WHERE p.provolatile = 'v'
      UNION ALL
      SELECT format('its input function %s', p.oid::regprocedure)
      FROM t JOIN pg_catalog.pg_proc p ON p.oid = t.typinput WHERE p.provolatile = 'v'
      UNION ALL
      SELECT format('its check %s, which calls %s', con.conname, p.oid::regprocedure)
      FROM t JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::regclass AND d.objid = con.oid
          AND d.refclassid = 'pg_catalog.pg_proc'::regclass
        JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
      WHERE p.provolatile = 'v') found
    """

  /// Implicit casts the source has that run a volatile function; empty when there are none (the usual case: the
  /// built-in ones are all immutable or stable).
  static let volatileImplicitCasts = """
    SELECT string_agg(format('the cast from %s to %s by %s is volatile', c.castsource::regtype, c.casttarget::regtype,
      c.castfunc::regprocedure), '; ' ORDER BY 1)
    FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
    WHERE c.castcontext = 'i' AND p.provolatile = 'v'
    """

  private static func prepare(
    _ sql: String, on connection: SerialConnection, service: String, what: String, at location: SourceLocation
  ) async throws {
    try await connection.execute("SAVEPOINT cleave_check")
    do {
      try await connection.execute("PREPARE cleave_check AS \(sql)")
      try await connection.execute("DEALLOCATE cleave_check")
      try await connection.execute("RELEASE SAVEPOINT cleave_check")
    } catch let error as PostgresError {
      try await connection.execute("ROLLBACK TO SAVEPOINT cleave_check")
      throw CleaveError(
        .planInvalidTransform, "service \"\(service)\": \(what) does not work on the source: \(error.message)",
        hint: "fix the SQL in the plan; Cleave prepared it on the source (read-only, never run) to find this out",
        at: location)
    }
  }
}
