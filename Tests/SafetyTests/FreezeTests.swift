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

    let records = try await freezer.freeze(wait: .seconds(5)).records
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

  /// A source whose tables belong to `owner` (not a superuser), with a partitioned table, and a freezer for it
  /// connecting as `freezeAs` (the owner, or the superuser).
  func ownedSource(_ name: String, freezeAs superuser: Bool) async throws -> (
    freezer: Freezer, owner: SerialConnection, admin: SerialConnection, folder: TemporaryFolder
  ) {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase(name)
    let admin = try await SerialConnection.connect(source)
    let owner = "owner_\(UUID().uuidString.prefix(8).lowercased())"
    let database = try #require(try await admin.query("SELECT current_database()").scalar)
    try await admin.execute(
      """
      CREATE ROLE \(owner) LOGIN;
      GRANT CREATE ON DATABASE \(database) TO \(owner);
      GRANT CREATE ON SCHEMA public TO \(owner);
      SET ROLE \(owner);
      CREATE TABLE customers (id int PRIMARY KEY, email text);
      CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      INSERT INTO customers VALUES (1, 'a@example.com');
      RESET ROLE;
      """)
    let folder = try TemporaryFolder(name)
    let freezeRole = superuser ? source : sandbox.connInfo(database: database, user: owner)
    let plan = try folder.writePlan(
      source: freezeRole.flattened, target: sandbox.connInfo().rawValue,
      services: """
        accounts:
          database: accounts_\(folder.suffix)
          tables: [customers, events]
        """)
    let resolved = try await Split(planPath: plan, environment: [:], secretsPath: "").resolvedPlan()
    let ownerSession = try await SerialConnection.connect(sandbox.connInfo(database: database, user: owner))
    return (Freezer(plan: resolved), ownerSession, admin, folder)
  }

  /// The owner disables a trigger, drops the other, and creates a partition: each is named by the fence, the
  /// owner's writes get through while it is open (so the test can fail), and freeze run again closes it.
  @Test func anOpenedFenceIsFoundAndFreezeAgainClosesIt() async throws {
    let (freezer, owner, _, folder) = try await ownedSource("fence_owner", freezeAs: false)
    defer { folder.remove() }
    let first = try await freezer.freeze(wait: .seconds(5))
    #expect(first.holds && !first.guardsDDL && first.records.count == 3)
    await #expect(throws: PostgresError.self) { try await owner.execute("INSERT INTO customers VALUES (2, 'b')") }

    try await owner.execute(
      """
      ALTER TABLE customers DISABLE TRIGGER cleave_freeze;
      DROP TRIGGER cleave_freeze_truncate ON events_2024;
      CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      """)
    try await owner.execute("INSERT INTO customers VALUES (2, 'slipped through')")
    try await owner.execute("INSERT INTO events_2025 VALUES (1, '2025-03-01')")
    let open = try await freezer.fence()
    #expect(!open.holds)
    #expect(open.problems.contains { $0.contains("public.customers") && $0.contains("cleave_freeze is disabled") })
    #expect(open.problems.contains { $0.contains("public.events_2024") && $0.contains("missing") })
    #expect(open.problems.contains { $0.contains("public.events_2025") && $0.contains("partition") })

    let again = try await freezer.freeze(wait: .seconds(5))
    #expect(again.holds, "\(again.problems)")
    #expect(again.rearmed.count == 3, "\(again.rearmed)")
    #expect(again.records.map(\.table).contains("public.events_2025"))
    for statement in [
      "INSERT INTO customers VALUES (3, 'c')", "TRUNCATE events_2024",
      "INSERT INTO events_2025 VALUES (2, '2025-04-01')",
    ] {
      await #expect(throws: PostgresError.self, "\(statement)") { try await owner.execute(statement) }
    }
    #expect(try await freezer.unfreeze().count == 4)
    #expect(try await freezer.fence().records.isEmpty)
  }

  /// Frozen by a superuser, the owner's DDL on frozen tables is refused outright; unfreeze still works.
  @Test func asASuperuserTheFreezeRefusesTheOwnersDDL() async throws {
    let (freezer, owner, admin, folder) = try await ownedSource("fence_guard", freezeAs: true)
    defer { folder.remove() }
    let fence = try await freezer.freeze(wait: .seconds(5))
    #expect(fence.holds && fence.guardsDDL)
    for statement in [
      "ALTER TABLE customers DISABLE TRIGGER cleave_freeze", "ALTER TABLE customers DISABLE TRIGGER ALL",
      "DROP TRIGGER cleave_freeze ON customers", "ALTER TRIGGER cleave_freeze ON customers RENAME TO x",
      "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
      "DROP TABLE events_2024", "ALTER TABLE customers ADD COLUMN note text",
    ] {
      let refused = await #expect(throws: PostgresError.self, "\(statement)") { try await owner.execute(statement) }
      #expect(refused?.message.contains("refused") == true, "\(statement): \(String(describing: refused))")
    }
    try await owner.execute("CREATE TABLE unrelated (id int); DROP TABLE unrelated")  // other DDL goes on
    #expect(try await freezer.fence().holds)

    // A superuser can still turn the guard off: status and verify say so, and freeze turns it on again.
    try await admin.execute("ALTER EVENT TRIGGER cleave_freeze_ddl DISABLE")
    #expect(try await freezer.fence().problems.contains { $0.contains("DDL") })
    #expect(try await freezer.freeze(wait: .seconds(5)).holds)

    #expect(try await freezer.unfreeze().count == 3)
    #expect(try await admin.query("SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'cleave%'").scalar == "0")
    try await owner.execute("ALTER TABLE customers ADD COLUMN note text")
  }

  /// A prepared transaction holds its write lock with no session: the freeze names it, not "none left".
  @Test func aPreparedTransactionBlockingTheFreezeIsNamed() async throws {
    let (freezer, owner, admin, folder) = try await ownedSource("fence_prepared", freezeAs: false)
    defer { folder.remove() }
    let gid = "cleave_test_\(UUID().uuidString.prefix(8))"
    try await owner.execute("BEGIN; INSERT INTO customers VALUES (5, 'two-phase'); PREPARE TRANSACTION '\(gid)'")
    let blocked = await #expect(throws: CleaveError.self) { try await freezer.freeze(wait: .seconds(1)) }
    #expect(blocked?.code == .freezeBlocked)
    #expect(blocked?.message.contains("prepared transaction '\(gid)'") == true, "\(String(describing: blocked))")
    try await admin.execute("ROLLBACK PREPARED '\(gid)'")
    #expect(try await freezer.freeze(wait: .seconds(5)).holds)
    try await freezer.unfreeze()
  }
}
