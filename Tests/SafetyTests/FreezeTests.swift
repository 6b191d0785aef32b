import CleaveCore
import CleaveTestSupport
import Copy
import Foundation
import Freeze
import PostgresDriver
import Testing

/// Freeze stops every role's writes to the moved tables, waits for (or names) transactions that wrote to them,
/// and unfreeze restores exactly what was there.
@Suite(.postgres, .tags(.integration)) struct FreezeTests {
  @Test func freezeStopsEveryWriterAndUnfreezeLetsThemBack() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("freeze_src")
    let admin = try await SerialConnection.connect(source)
    let writer = "writer_\(UUID().uuidString.prefix(8).lowercased())"
    try await admin.execute(
      """
      CREATE TABLE customers (id serial PRIMARY KEY, email text);
      CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE notes (id int);
      INSERT INTO customers (email) VALUES ('a@example.com');
      CREATE ROLE \(writer) LOGIN PASSWORD 'w' IN ROLE \(PostgresSandbox.passwordGroup);
      GRANT INSERT, UPDATE, DELETE, SELECT ON customers, events, events_2024, notes TO \(writer);
      GRANT USAGE ON SEQUENCE customers_id_seq TO \(writer);
      """)
    let temporary = try TemporaryFolder("freeze")
    defer { temporary.remove() }
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        accounts:
          database: accounts_\(temporary.suffix)
          tables: [customers, events]
        """)
    let resolved = try await Split(planPath: plan, environment: [:], secretsPath: "").resolvedPlan()
    let freezer = Freezer(plan: resolved)
    let app = try await SerialConnection.connect(
      ConnInfo(
        sandbox.url(
          database: try #require(try await admin.query("SELECT current_database()").scalar), user: writer, password: "w"
        )))

    // A transaction that wrote to a moved table and is still open: freeze waits, then names it.
    try await app.execute("BEGIN; INSERT INTO customers (email) VALUES ('open@example.com')")
    let appPID = try #require(try await app.query("SELECT pg_backend_pid()").scalar)
    let blocked = await #expect(throws: CleaveError.self) { try await freezer.freeze(wait: .seconds(2)) }
    #expect(
      blocked?.code == .freezeBlocked && blocked?.message.contains("pid \(appPID)") == true,
      "\(String(describing: blocked))")
    #expect(blocked?.message.contains(writer) == true)
    try await app.execute("COMMIT")
    // Statistics reach shared memory when a backend flushes them (at most once a second, or after 10 s idle):
    // flush both writers' now, so the freeze's counters include their last writes.
    for session in [app, admin] {
      _ = try await session.query("SELECT pg_stat_force_next_flush()")
      _ = try await session.query("SELECT 1")
    }

    let records = try await freezer.freeze(wait: .seconds(5))
    #expect(records.map(\.table).sorted() == ["public.customers", "public.events", "public.events_2024"])
    #expect(records.allSatisfy { !$0.walPosition.isEmpty && $0.walPosition.contains("/") })

    // The application's role, and the superuser too, are refused, with a message that says why.
    for statement in [
      "INSERT INTO customers (email) VALUES ('late@example.com')", "UPDATE customers SET email = 'x'",
      "DELETE FROM customers", "INSERT INTO events_2024 VALUES (1, '2024-05-01')",
      "INSERT INTO events VALUES (1, '2024-05-01')",
    ] {
      let refused = await #expect(throws: PostgresError.self, "\(statement)") { try await app.execute(statement) }
      #expect(refused?.message.contains("are frozen") == true, "\(statement): \(String(describing: refused))")
      #expect(refused?.sqlState == "25006")
    }
    await #expect(throws: PostgresError.self) { try await admin.execute("TRUNCATE customers") }
    await #expect(throws: PostgresError.self) { try await admin.execute("INSERT INTO customers (email) VALUES ('su')") }
    // A table that did not move is not frozen.
    try await app.execute("INSERT INTO notes VALUES (1)")
    let held = try await freezer.records()
    #expect(held.allSatisfy { $0.writesNow == $0.writesAtFreeze }, "no write reached a frozen table: \(held)")

    #expect(try await freezer.unfreeze().count == 3)
    try await app.execute("INSERT INTO customers (email) VALUES ('after@example.com')")
    #expect(try await admin.query("SELECT to_regnamespace('_cleave_freeze') IS NULL").scalar == "t")
    #expect(try await admin.query("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cleave_freeze%'").scalar == "0")
  }
}
