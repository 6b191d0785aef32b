import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// What a copy keeps between runs belongs to one plan and one source: another plan's source in the same folder
/// never leaks in, and a source whose schema changed under copied data stops the copy with the table and column
/// named and a way out that works (issue 11, failure 2).
@Suite(.postgres, .tags(.integration)) struct SourceChangeTests {
  /// The columns of `table` as `information_schema` lists them, in order, with their types.
  func columns(_ table: String, in info: ConnInfo) async throws -> [String] {
    let connection = try await SerialConnection.connect(info)
    defer { Task { await connection.close() } }
    return try await connection.query(
      "SELECT column_name || ' ' || data_type FROM information_schema.columns "
        + "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position", [table]
    ).rows.map { $0[0] ?? "" }
  }

  func tables(in info: ConnInfo) async throws -> [String] {
    let connection = try await SerialConnection.connect(info)
    defer { Task { await connection.close() } }
    return try await connection.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
    ).rows.map { $0[0] ?? "" }
  }

  @Test func twoPlansForTwoSourcesInOneFolderEachCopyTheirOwnSource() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let staging = try await sandbox.makeDatabase("twoplans_staging")
    let prod = try await sandbox.makeDatabase("twoplans_prod")
    try await SerialConnection.connect(staging).execute(
      """
      CREATE TABLE users (id int PRIMARY KEY, email text, staging_only text DEFAULT 'staging');
      CREATE TABLE debug_log (id int PRIMARY KEY);
      INSERT INTO users (id, email) SELECT i, 'staging' || i FROM generate_series(1, 10) i;
      """)
    try await SerialConnection.connect(prod).execute(
      """
      CREATE TABLE users (id int PRIMARY KEY, email text);
      INSERT INTO users SELECT i, 'prod' || i FROM generate_series(1, 25) i;
      """)
    let folder = try TemporaryFolder("twoplans")
    defer { folder.remove() }
    var plans: [String: String] = [:]
    for (name, source) in [("staging", staging), ("prod", prod)] {
      plans[name] = try folder.writePlan(
        source: source.flattened, target: sandbox.connInfo().rawValue,
        services: """
          users:
            database: users_\(name)_\(folder.suffix)
            tables: [public.users]
          """, name: name)
    }
    for name in ["staging", "prod"] {
      let copy = try await CLIRunner.run(
        ["copy", "-f", plans[name]!, "--secrets", folder.path + "/\(name).secrets.env"])
      #expect(copy.status == 0, "\(name): \(copy.stderr)")
    }
    let prodTarget = sandbox.connInfo(database: "users_prod_\(folder.suffix)")
    #expect(try await columns("users", in: prodTarget) == columns("users", in: prod))
    #expect(try await tables(in: prodTarget) == ["users"], "no table of the staging source in prod")
    let query = "SELECT * FROM users ORDER BY id"
    #expect(try await Fixtures.fingerprint(query, in: prodTarget) == Fixtures.fingerprint(query, in: prod))
  }

  /// A source made by `sql`, and a plan in a folder of its own moving its `events` table to service `events`.
  func eventsSource(_ name: String, _ sql: String) async throws -> (
    sandbox: PostgresSandbox, source: ConnInfo, admin: SerialConnection, folder: TemporaryFolder, database: String,
    plan: String
  ) {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase(name + "_src")
    let admin = try await SerialConnection.connect(source)
    try await admin.execute(sql)
    let folder = try TemporaryFolder(name)
    let database = "\(name)_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        events:
          database: \(database)
          tables: [public.events]
        """)
    return (sandbox, source, admin, folder, database, plan)
  }

  @Test func aColumnAddedUnderAFinishedCopyStopsTheNextOneUntilARecopy() async throws {
    let (sandbox, source, admin, folder, database, plan) = try await eventsSource(
      "changed",
      """
      CREATE TABLE events (id int PRIMARY KEY, body text);
      CREATE TABLE tags (id int PRIMARY KEY, name text);
      INSERT INTO events SELECT i, 'event ' || i FROM generate_series(1, 100) i;
      INSERT INTO tags VALUES (1, 'one');
      """)
    defer { folder.remove() }
    let copy = ["copy", "-f", plan, "--secrets", folder.path + "/secrets.env"]
    let first = try await CLIRunner.run(copy)
    #expect(first.status == 0, "\(first.stderr)")

    try await admin.execute("ALTER TABLE events ADD COLUMN note text DEFAULT 'new'")
    let stopped = try await CLIRunner.run(copy)
    #expect(stopped.status == ExitStatus.copyFailed.rawValue, "\(stopped.stderr)")
    #expect(stopped.stderr.contains("CLV6005"), "\(stopped.stderr)")
    #expect(stopped.stderr.contains("column public.events.note: not there before, now text"), "\(stopped.stderr)")
    #expect(stopped.stderr.contains("--recopy events"), "\(stopped.stderr)")

    let recopied = try await CLIRunner.run(copy + ["--recopy", "events"])
    #expect(recopied.status == 0, "\(recopied.stderr)")
    let target = sandbox.connInfo(database: database)
    #expect(try await columns("events", in: target) == columns("events", in: source))
    let query = "SELECT * FROM events ORDER BY id"
    #expect(try await Fixtures.fingerprint(query, in: target) == Fixtures.fingerprint(query, in: source))
    let again = try await CLIRunner.run(copy)
    #expect(again.status == 0, "after the recopy, the plain copy is a no-op: \(again.stderr)")

    // A table added to the service after its tables were created is a change of shape too.
    _ = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        events:
          database: \(database)
          tables: [public.events, public.tags]
        """)
    let added = try await CLIRunner.run(copy)
    #expect(added.status == ExitStatus.copyFailed.rawValue)
    #expect(added.stderr.contains("table public.tags: not there before, now table"), "\(added.stderr)")
    let withTags = try await CLIRunner.run(copy + ["--recopy", "events"])
    #expect(withTags.status == 0, "\(withTags.stderr)")
    #expect(try await tables(in: target) == ["events", "tags"])
  }

  @Test func aColumnAddedUnderAKilledCopyStopsTheResumeUntilARecopy() async throws {
    let (sandbox, source, admin, folder, database, plan) = try await eventsSource(
      "killed",
      """
      CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL);
      INSERT INTO events SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 120000) i;
      ANALYZE;
      """)
    defer { folder.remove() }
    let copy = ["copy", "-f", plan, "--secrets", folder.path + "/secrets.env", "--jobs", "1", "--split-mb", "1"]
    let killed = try CLIRunner.runKilled(on: " done)", copy)
    try #require(killed.killed, "the copy ended before the kill: \(killed.text)")

    try await admin.execute("ALTER TABLE events ADD COLUMN note text")
    let stopped = try await CLIRunner.run(copy)
    #expect(stopped.status == ExitStatus.copyFailed.rawValue, "\(stopped.stderr)")
    #expect(stopped.stderr.contains("column public.events.note: not there before, now text"), "\(stopped.stderr)")

    let recopied = try await CLIRunner.run(copy + ["--recopy", "events"])
    #expect(recopied.status == 0, "\(recopied.stderr)")
    let target = sandbox.connInfo(database: database)
    let query = "SELECT * FROM events ORDER BY id"
    #expect(try await Fixtures.fingerprint(query, in: target) == Fixtures.fingerprint(query, in: source))
  }
}
