import CleaveCore
import CleaveTestSupport
import Foundation
import Plan
import PostgresDriver
import Testing

/// Plan mistakes that used to pass `cleave plan` and fail later (the copy with exit 7, verify with exit 70) are
/// found by `cleave plan` itself, at their place in the plan (issue 12).
@Suite(.postgres, .tags(.integration)) struct ProjectionCheckTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var transform: String
    var line: Int
    var column: Int
    var reason: String
    /// What the source has besides `posts` for this case.
    var source = ""
    var testDescription: String { reason }
  }

  /// An operator, a cast and a domain check, each run by a function marked volatile that creates a large object.
  static let hostile = """
    CREATE FUNCTION bump(a int, b int) RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT lo_create(0) > 0';
    CREATE OPERATOR ===> (LEFTARG = int, RIGHTARG = int, FUNCTION = bump);
    CREATE TYPE mark AS (v oid);
    CREATE FUNCTION to_mark(int) RETURNS mark LANGUAGE sql VOLATILE AS 'SELECT ROW(lo_create(0))::mark';
    CREATE CAST (int AS mark) WITH FUNCTION to_mark(int);
    CREATE FUNCTION stamp(text) RETURNS boolean LANGUAGE sql VOLATILE AS 'SELECT lo_create(0) > 0';
    CREATE DOMAIN checked_text AS text CHECK (stamp(VALUE));
    """

  static let cases: [Case] = [
    Case(transform: "where: \"deleted_at IS NULL -- only live rows\"", line: 10, column: 16, reason: "syntax error"),
    Case(transform: "where: \"title\"", line: 10, column: 16, reason: "must be type boolean"),
    Case(
      transform: "columns:\n          slug: { add: \"lower(title)\", type: nosuchtype }", line: 11, column: 19,
      reason: "type \"nosuchtype\" does not exist"),
    Case(transform: "where: \"true); SELECT 1; --\"", line: 10, column: 16, reason: "syntax error"),
    // Volatile functions could write to the source even in a read-only transaction (lo_create did), or read a
    // server file (pg_read_file): refused before anything runs.
    Case(
      transform: "where: \"lo_create(0) > 0\"", line: 10, column: 16,
      reason: "lo_create(), which the source marks volatile"),
    Case(
      transform: "columns:\n          host: { add: \"pg_catalog.pg_read_file('/etc/hostname')\", type: text }",
      line: 11,
      column: 19, reason: "pg_catalog.pg_read_file(), which the source marks volatile"),
    // The same functions behind an operator, a cast or a domain's check, which no function call names.
    Case(transform: "where: \"id ===> 1\"", line: 10, column: 16, reason: "uses the operator ===>", source: hostile),
    Case(
      transform: "where: \"id OPERATOR(public.===>) 1\"", line: 10, column: 16,
      reason: "uses the operator public.===>", source: hostile),
    Case(transform: "where: \"(id::mark).v > 0\"", line: 10, column: 16, reason: "casts to mark", source: hostile),
    Case(
      transform: "columns:\n          note: { add: \"title\", type: checked_text }", line: 11, column: 19,
      reason: "casts to checked_text", source: hostile),
    Case(
      transform: "where: \"id > 0\"", line: 10, column: 16, reason: "implicit cast",
      source: """
        CREATE TYPE mark AS (v oid);
        CREATE FUNCTION to_mark(int) RETURNS mark LANGUAGE sql VOLATILE AS 'SELECT ROW(lo_create(0))::mark';
        CREATE CAST (int AS mark) WITH FUNCTION to_mark(int) AS IMPLICIT;
        """),
  ]

  /// A source with `posts` (and `extra`), and a plan moving it to `content` with `transform` under `posts:`.
  func split(_ name: String, extra: String, transform: String) async throws -> TestSplit {
    try await #require(PostgresSandbox.current).split(
      name, sourceSQL: "CREATE TABLE posts (id int PRIMARY KEY, title text, deleted_at timestamptz);" + extra
    ) { suffix in
      """
      content:
        database: content_\(suffix)
        tables: [posts]
        transforms:
          posts:
            \(transform)
      """
    }
  }

  @Test(arguments: cases) func planFindsTheMistakeWhereItIsWritten(_ bad: Case) async throws {
    let split = try await split("check", extra: bad.source, transform: bad.transform)
    defer { split.folder.remove() }
    do {
      _ = try await Planner(planPath: split.plan, environment: [:]).run()
      Issue.record("cleave plan accepted \(bad.transform)")
    } catch let error as CleaveError {
      #expect(error.code == .planInvalidTransform, "\(error)")
      #expect(error.message.contains(bad.reason), "\(error)")
      #expect(error.location?.line == bad.line && error.location?.column == bad.column, "\(error)")
    }
    // Every command that loads the plan stops there too, before it touches a target, and nothing was written.
    await #expect(throws: CleaveError.self) { _ = try await PlanLoader.resolve(path: split.plan, environment: [:]) }
    let objects = try await SerialConnection.connect(split.source).query(
      "SELECT count(*) FROM pg_largeobject_metadata"
    ).scalar
    #expect(objects == "0", "no large object was created on the source")
  }

  /// The same source, with SQL that only uses what it marks immutable or stable (operators, casts, BETWEEN, LIKE,
  /// IN, a subquery): accepted, so the check refuses by what runs, not by the source having something volatile.
  @Test func ordinarySQLOnASourceWithVolatileOperatorsIsAccepted() async throws {
    let split = try await split(
      "check_ok", extra: Self.hostile,
      transform: """
        where: "id BETWEEN 1 AND 10 AND lower(title) LIKE 'a%' AND id IN (1, 2) AND id::text <> ''"
              columns:
                day: { add: "date_trunc('day', deleted_at)", type: timestamptz }
        """)
    defer { split.folder.remove() }
    _ = try await Planner(planPath: split.plan, environment: [:]).run()
  }
}
