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
/// Before that, every function the plan's SQL calls (found in libpg_query's parse tree) must be one the source
/// marks immutable or stable: a volatile function may write (`lo_create`, `nextval`) or reach outside the
/// database (`pg_read_file`), even inside a read-only transaction, and would run on the source during copy and
/// verify. A name with any volatile overload is refused.
public enum ProjectionCheck {
  /// - Throws: `CleaveError` (`planInvalidTransform`, exit 3) naming the service, the table and the server's
  ///   reason, located at the `where`, the added column or the transform.
  public static func run(_ plan: SplitPlan, catalog: DatabaseCatalog, on connection: SerialConnection) async throws {
    guard plan.services.contains(where: { !$0.transforms.isEmpty }) else { return }
    try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    do {
      for service in plan.services {
        for (root, transform) in service.transforms.sorted(by: { $0.key < $1.key }) {
          guard let table = catalog.table(root) else { continue }
          let from = "ONLY \(root.quoted) AS s"
          func check(_ sql: String, _ what: String, at location: SourceLocation) async throws {
            try await prepare(sql, on: connection, service: service.name, what: what, at: location)
          }
          if let filter = transform.rowFilter {
            try await checkFunctions(
              filter.value, on: connection, service: service.name, what: "the `where` of \(root)", at: filter.location)
          }
          for change in transform.columns {
            guard case .add(let expression, _) = change.action else { continue }
            try await checkFunctions(
              expression, on: connection, service: service.name,
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

  /// Fails when `expression` calls a function the source marks volatile (or has a volatile overload of).
  private static func checkFunctions(
    _ expression: String, on connection: SerialConnection, service: String, what: String, at location: SourceLocation
  ) async throws {
    guard let calls = try? SQLParser.functionCalls(inExpression: expression) else { return }
    for call in calls {
      guard let name = call.last else { continue }
      let schema = call.count > 1 ? call[call.count - 2] : nil
      let volatile = try await connection.query(
        """
        SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2) AND p.provolatile = 'v'
        """, [name, schema]
      ).scalar
      if volatile != "0" {
        throw CleaveError(
          .planInvalidTransform,
          "service \"\(service)\": \(what) calls \(call.joined(separator: "."))(), which the source marks volatile: "
            + "it could write to the source or read outside it, and would run there during copy and verify",
          hint: "use only functions the source marks immutable or stable in a plan's SQL", at: location)
      }
    }
  }

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
