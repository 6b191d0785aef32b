import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The whole migration through the binary: `cleave run` killed and run again, then freeze, status and rollback,
/// after which the target has none of Cleave's objects and the source dumps byte for byte as before.
@Suite(.postgres, .tags(.integration)) struct RollbackTests {
  static let schema = """
    CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);
    CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, note text);
    INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 2000) AS g;
    INSERT INTO orders (customer_id, note) SELECT 1 + g % 2000, repeat(md5(g::text), 8) FROM generate_series(1, 200000) AS g;
    ANALYZE;
    """

  /// A plain `pg_dump` of `database` (schema, data, comments and privileges), as bytes; with a fixed
  /// `--restrict-key`, since pg_dump otherwise writes a random one into every dump.
  func dump(_ sandbox: PostgresSandbox, _ database: String, into folder: String) async throws -> Data {
    let path = folder + "/dump-\(UUID().uuidString).sql"
    let result = try await ToolRunner.run(
      try PostgresBinaries.locate().path("pg_dump"),
      ["-d", sandbox.connInfo(database: database).rawValue, "-f", path, "--restrict-key=cleave"])
    #expect(result.succeeded, "\(result.standardError)")
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }

  @Test func runKilledThenResumedThenRolledBackLeavesNothing() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("run_src")
    let admin = try await SerialConnection.connect(source)
    try await admin.execute(Self.schema)
    let sourceName = try #require(try await admin.query("SELECT current_database()").scalar)
    let temporary = try TemporaryFolder("run")
    defer { temporary.remove() }
    let before = try await dump(sandbox, sourceName, into: temporary.path)
    let suffix = temporary.suffix
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        accounts_\(suffix):
          database: accounts_\(suffix)
          tables: [customers]
        orders_\(suffix):
          database: orders_\(suffix)
          tables: [orders]
        """)
    let secrets = temporary.path + "/secrets.env"
    let arguments = ["run", "-f", plan, "--secrets", secrets, "--jobs", "2"]

    // Killed twice on the way (as provisioning starts, then as the copy starts), then run to the end.
    var kills = 0
    for marker in ["provision ...", "copy ..."] {
      if try CLIRunner.runKilled(on: marker, arguments, watchingOutput: true).killed { kills += 1 }
    }
    let finished = try await CLIRunner.run(arguments)
    #expect(finished.status == 0, "\(finished.stdout)\(finished.stderr)")
    #expect(kills == 2, "both kills landed mid-run")
    for step in ["backup", "provision", "copy", "verify", "config"] {
      #expect(finished.stdout.contains(step), "\(finished.stdout)")
    }
    #expect(try await CLIRunner.run(["verify", "-f", plan]).status == 0)
    let env = try String(contentsOfFile: temporary.path + "/.cleave/config/.env", encoding: .utf8)
    #expect(env.contains("ACCOUNTS_\(suffix.uppercased())_DATABASE_URL="))
    let again = try await CLIRunner.run(arguments)
    #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    for step in ["backup", "copy", "verify", "config"] {
      #expect(again.stdout.contains("\(step): done before, skipped"), "\(again.stdout)")
    }

    let frozen = try await CLIRunner.run(["freeze", "-f", plan])
    #expect(frozen.status == 0, "\(frozen.stderr)")
    let status = try await CLIRunner.run(["status", "-f", plan, "--format", "json"])
    let services = try #require(
      (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["services"]
        as? [[String: Any]])
    #expect(services.count == 2)
    #expect(services.allSatisfy { ($0["provisioned"] as? Bool) == true && $0["verifiedAt"] != nil })
    #expect(services.allSatisfy { ($0["frozenTables"] as? Int) == 1 && ($0["writesSinceFreeze"] as? Int) == 0 })

    // Without a terminal and without --yes, rollback lists and refuses to act.
    let unconfirmed = try await CLIRunner.run(["rollback", "-f", plan, "--secrets", secrets])
    #expect(unconfirmed.status == ExitStatus.safetyStepFailed.rawValue)
    #expect(unconfirmed.stdout.contains("remove: database accounts_\(suffix)"))
    #expect(unconfirmed.stdout.contains("restore: unfreeze 2 source tables"))
    #expect(FileManager.default.fileExists(atPath: secrets))

    let rolled = try await CLIRunner.run(["rollback", "-f", plan, "--secrets", secrets, "--yes"])
    #expect(rolled.status == 0, "\(rolled.stdout)\(rolled.stderr)")
    let target = try await SerialConnection.connect(sandbox.connInfo())
    let left = try await target.query(
      """
      SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE $1) + (SELECT count(*) FROM pg_roles WHERE rolname LIKE $1)
      """, ["%\(suffix)%"]
    ).scalar
    #expect(left == "0", "no database or role of these services is left")
    #expect(!FileManager.default.fileExists(atPath: secrets))
    let after = try await dump(sandbox, sourceName, into: temporary.path)
    #expect(before.count > 1_000_000)
    let firstDifference = zip(before, after).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
    let around = String(
      decoding: after[max(0, firstDifference - 200)..<min(after.count, firstDifference + 200)], as: UTF8.self)
    #expect(after == before, "the source dumps byte for byte as before; first difference near: \(around)")
    try await admin.execute("INSERT INTO customers (email) VALUES ('after@example.com')")
  }

  @Test func rollbackLeavesALookAlikeDatabaseAndRemovesNothingWhenNothingIsItsOwn() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("lookalike_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let temporary = try TemporaryFolder("lookalike")
    defer { temporary.remove() }
    let name = "things_\(temporary.suffix)"
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    try await admin.execute("CREATE DATABASE \(name)")
    try await admin.execute("COMMENT ON DATABASE \(name) IS 'made by the team'")
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        things_\(temporary.suffix):
          database: \(name)
          tables: [things]
        """)
    // A file at the secrets path that Cleave did not write, and one it wrote for this plan: neither goes.
    let foreign = temporary.path + "/s.env"
    try "TEAM_TOKEN=keep-me\n".write(toFile: foreign, atomically: true, encoding: .utf8)
    let result = try await CLIRunner.run(["rollback", "-f", plan, "--yes", "--secrets", foreign])
    #expect(result.status == ExitStatus.safetyStepFailed.rawValue, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("leave: database \(name)") && result.stdout.contains("made by the team"))
    #expect(result.stderr.contains("CLV8005") && result.stderr.contains("nothing was removed"))
    #expect(try await admin.query("SELECT count(*) FROM pg_database WHERE datname = $1", [name]).scalar == "1")
    #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "TEAM_TOKEN=keep-me\n")
  }

  @Test func aRehearsalTimesTheSplitAndLeavesNothingBehind() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("rehearse_src")
    try await SerialConnection.connect(source).execute(
      """
      CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);
      INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 5000) AS g;
      """)
    let temporary = try TemporaryFolder("rehearse")
    defer { temporary.remove() }
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        crm_\(temporary.suffix):
          database: crm_\(temporary.suffix)
          tables: [customers]
        """)
    let result = try await CLIRunner.run(["run", "-f", plan, "--rehearse"])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    for step in ["backup", "restore", "provision", "copy", "verify", "clean-up", "go/no-go"] {
      #expect(result.stdout.contains(step), "\(step) in \(result.stdout)")
    }
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    let left = try await admin.query(
      """
      SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE $1 OR datname LIKE 'cleave\\_rehearsal\\_%')
        + (SELECT count(*) FROM pg_roles WHERE rolname LIKE $1)
      """, ["crm_\(temporary.suffix)%"]
    ).scalar
    #expect(left == "0", "the rehearsal removed everything it made, and made nothing of the real split")
  }

  /// One service of a shared database rolled back alone: its schema and roles go, the other service's stay
  /// (issue 12: this failed with `could not find tuple for default ACL`, and its hint looped).
  @Test func oneServiceOfASharedDatabaseRollsBackAlone() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("shared_rb_src")
    try await SerialConnection.connect(source).execute(
      """
      CREATE TABLE posts (id int PRIMARY KEY, title text);
      CREATE TABLE users (id int PRIMARY KEY, email text);
      INSERT INTO posts VALUES (1, 'one'); INSERT INTO users VALUES (1, 'a@example.com');
      """)
    let folder = try TemporaryFolder("shared-rb")
    defer { folder.remove() }
    let database = "shared_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        posts:
          database: \(database)
          schema: post_schema
          tables: [posts]
        auth:
          database: \(database)
          schema: auth_schema
          tables: [users]
        """)
    let copy = try await CLIRunner.run(["copy", "-f", plan])
    #expect(copy.status == 0, "\(copy.stderr)")
    let rollback = try await CLIRunner.run(["rollback", "-f", plan, "--service", "posts", "--yes"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    let shared = try await SerialConnection.connect(sandbox.connInfo(database: database))
    #expect(try await shared.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'post_schema'").scalar == "0")
    #expect(try await shared.query("SELECT count(*) FROM auth_schema.users").scalar == "1")
    await shared.close()
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    #expect(
      try await admin.query("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", ["\(database)_post_schema_%"])
        .scalar == "0")
    #expect(
      try await admin.query("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", ["\(database)_auth_schema_%"])
        .scalar == "2")
    let rest = try await CLIRunner.run(["rollback", "-f", plan, "--yes"])
    #expect(rest.status == 0, "\(rest.stdout)\(rest.stderr)")
    #expect(try await admin.query("SELECT count(*) FROM pg_database WHERE datname = $1", [database]).scalar == "0")
  }
}
