import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave migrate` through the binary: exit statuses for CI, `new`, `lint`, `deploy --strict`, and a deploy
/// killed in the middle leaving no lock behind.
@Suite(.postgres, .tags(.integration)) struct MigrateCLITests {
  /// A migrations-only plan (no source) with one Prisma-layout service, and its database.
  func fixture(_ sandbox: PostgresSandbox, _ temporary: TemporaryFolder, first: String) async throws -> (
    plan: String, service: String, folder: String
  ) {
    let service = "shop_\(temporary.suffix)"
    try await SerialConnection.connect(sandbox.connInfo()).execute("CREATE DATABASE \(service)")
    let folder = temporary.path + "/prisma/migrations"
    try FileManager.default.createDirectory(atPath: folder + "/20240101000000_init", withIntermediateDirectories: true)
    try "provider = \"postgresql\"\n".write(toFile: folder + "/migration_lock.toml", atomically: true, encoding: .utf8)
    try first.write(toFile: folder + "/20240101000000_init/migration.sql", atomically: true, encoding: .utf8)
    let plan = temporary.path + "/cleave.yml"
    try """
    targets:
      main: \(sandbox.connInfo().rawValue)
    services:
      \(service):
        database: \(service)
        migrations: prisma/migrations
    """.write(toFile: plan, atomically: true, encoding: .utf8)
    return (plan, service, folder)
  }

  /// A role that happens to have the owner role's name, but that Cleave did not make, is left alone: the
  /// migrations run as the connecting user (issue 11: it used to be taken over, and failed as CLV9999).
  @Test func anUnrelatedRoleWithTheOwnersNameIsLeftAlone() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-owner")
    defer { temporary.remove() }
    let (plan, service, _) = try await fixture(sandbox, temporary, first: "CREATE TABLE notes (id int PRIMARY KEY);\n")
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    try await admin.execute("CREATE ROLE \(service)_owner NOLOGIN")
    let deployed = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
    let owner = try await SerialConnection.connect(sandbox.connInfo(database: service)).query(
      "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'notes'"
    ).scalar
    #expect(owner == "postgres", "the table belongs to the connecting user, not to the look-alike role")
    try await admin.execute("DROP ROLE \(service)_owner")
  }

  /// The first deploy of an existing history into an empty database counts its lint findings instead of listing
  /// each (a real history printed 603); a new migration afterwards gets every detail.
  @Test func aFirstDeploySummarisesTheHistorysFindings() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-history")
    defer { temporary.remove() }
    let (plan, _, folder) = try await fixture(
      sandbox, temporary, first: "CREATE TABLE orders (id int PRIMARY KEY);\nALTER TABLE orders ADD COLUMN a int;\n")
    for index in 2...6 {
      let name = "2024010\(index)000000_step\(index)"
      try FileManager.default.createDirectory(atPath: "\(folder)/\(name)", withIntermediateDirectories: true)
      try "ALTER TABLE orders ADD COLUMN c\(index) int;\nCREATE INDEX orders_c\(index) ON orders (c\(index));\n".write(
        toFile: "\(folder)/\(name)/migration.sql", atomically: true, encoding: .utf8)
    }
    let first = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    #expect(!first.stdout.contains("warning["), "\(first.stdout)")
    #expect(
      first.stdout.contains("findings in the existing history") && first.stdout.contains("MIG"), "\(first.stdout)")
    let name = "20240201000000_more"
    try FileManager.default.createDirectory(atPath: "\(folder)/\(name)", withIntermediateDirectories: true)
    try "CREATE INDEX orders_a ON orders (a);\n".write(
      toFile: "\(folder)/\(name)/migration.sql", atomically: true, encoding: .utf8)
    let next = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
    #expect(next.stdout.contains("warning[") && !next.stdout.contains("existing history"), "\(next.stdout)")
  }

  @Test func statusNewLintAndStrictDeployExitAsCINeeds() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-cli")
    defer { temporary.remove() }
    let (plan, service, folder) = try await fixture(
      sandbox, temporary, first: "CREATE TABLE orders (id int PRIMARY KEY, created_at timestamptz);\n")
    let code = ExitStatus.migrationFailed.rawValue
    #expect(try await CLIRunner.run(["migrate", "status", "-f", plan]).status == code, "pending needs attention")
    let deployed = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(deployed.status == 0 && deployed.stdout.contains("applied now: 20240101000000_init"), "\(deployed)")
    let after = try await CLIRunner.run(["migrate", "status", "-f", plan])
    #expect(after.status == 0, "\(after.stdout)\(after.stderr)")

    let created = try await CLIRunner.run(["migrate", "new", "add index", "-f", plan, "--service", service])
    let file = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(created.status == 0 && file.hasPrefix(folder + "/") && file.hasSuffix("_add_index/migration.sql"))
    try "CREATE INDEX orders_created_idx ON orders (created_at);\n".write(
      toFile: file, atomically: true, encoding: .utf8)

    let lint = try await CLIRunner.run(["migrate", "lint", "-f", plan])
    #expect(lint.status == code && lint.stdout.contains("warning[MIG006]"), "\(lint.stdout)")
    #expect(lint.stdout.contains("\(file):1:1"))
    let strict = try await CLIRunner.run(["migrate", "deploy", "-f", plan, "--strict"])
    #expect(strict.status == code && strict.stderr.contains("--strict"))
    let status = try await CLIRunner.run(["migrate", "status", "-f", plan, "--format", "json"])
    #expect(status.stdout.contains("add_index"), "strict deployed nothing: still pending")
    let relaxed = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(relaxed.status == 0 && relaxed.stdout.contains("MIG006"), "findings are printed, not blocking")
  }

  @Test func aKilledDeployLeavesNoLockBehind() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-kill")
    defer { temporary.remove() }
    let (plan, service, _) = try await fixture(
      sandbox, temporary, first: "CREATE TABLE slow (id int);\nSELECT count(*) FROM gate;\n")
    let observer = try await SerialConnection.connect(sandbox.connInfo(database: service))
    // The migration waits at a gate the test holds, so the kill lands mid-migration however loaded the machine is.
    try await observer.execute("CREATE TABLE gate (id int)")
    let gate = try await SerialConnection.connect(sandbox.connInfo(database: service))
    try await gate.execute("BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")
    // This database's only: tests in other databases take the same lock at the same time.
    let held = """
      SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 72707369 AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      """
    let process = try CLIRunner.start(["migrate", "deploy", "-f", plan])
    // Killed while the migration runs (waiting at the gate), holding the lock.
    let running = """
      SELECT count(*) FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM gate%'
        AND pid <> pg_backend_pid()
      """
    let midway = try await eventually(within: 60) { try await observer.query(running).scalar == "1" }
    #expect(midway, "the migration started")
    #expect(try await observer.query(held).scalar == "1", "the deploy holds Prisma's lock while it runs")
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    let released = try await eventually(within: 15) { try await observer.query(held).scalar == "0" }
    #expect(released, "the lock went with the killed deploy's session")
    try await gate.execute("ROLLBACK")
    let rerun = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(rerun.status == 0 && rerun.stdout.contains("applied now: 20240101000000_init"), "\(rerun.stdout)")
  }

  /// A deploy killed during an index build outside a transaction leaves the server building.
  ///
  /// The killed deploy ran `CREATE INDEX CONCURRENTLY`, which the server goes on with. The next deploy reports
  /// that build instead of deadlocking with it, then stops on the interrupted migration (recorded before it ran)
  /// and, once the build is cancelled, on the invalid index it left, with the statement that clears it.
  @Test func aDeployKilledDuringCreateIndexConcurrently() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-cic")
    defer { temporary.remove() }
    let (plan, service, folder) = try await fixture(
      sandbox, temporary,
      first:
        "CREATE TABLE items (id int PRIMARY KEY, sku text);\nINSERT INTO items SELECT i, 's' || i FROM generate_series(1, 1000) i;\n"
    )
    try FileManager.default.createDirectory(atPath: folder + "/20240102000000_sku", withIntermediateDirectories: true)
    try "CREATE INDEX CONCURRENTLY items_sku ON items (sku);\n".write(
      toFile: folder + "/20240102000000_sku/migration.sql", atomically: true, encoding: .utf8)
    // An open snapshot in the service database: the index build waits for it, as behind a long report query.
    let reader = try await SerialConnection.connect(sandbox.connInfo(database: service))
    try await reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    _ = try await reader.query("SELECT count(*) FROM pg_class")
    let process = try CLIRunner.start(["migrate", "deploy", "-f", plan])
    let monitor = try await SerialConnection.connect(sandbox.connInfo(database: service))
    let building = """
      SELECT p.pid FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
      WHERE a.datname = current_database() AND a.application_name = 'cleave migrate'
      """
    var buildPID: String?
    let deadline = ContinuousClock.now + .seconds(60)
    while buildPID == nil, ContinuousClock.now < deadline {
      buildPID = try await monitor.query(building).scalar
      if buildPID == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    let pid = try #require(buildPID, "the deploy never started its index build")
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()

    let reported = try await CLIRunner.run(["migrate", "deploy", "-f", plan, "--wait", "1"])
    #expect(reported.status == ExitStatus.migrationFailed.rawValue)
    #expect(
      reported.stdout.contains("index build of an earlier deploy is still running: pid \(pid)"),
      "\(reported.stdout)\(reported.stderr)")

    // The build is cancelled (as an operator would): what it leaves is an invalid index, and the migration
    // recorded as interrupted; the next deploy names both, and applies nothing.
    _ = try await monitor.query("SELECT pg_cancel_backend($1::int)", [pid])
    try await reader.execute("ROLLBACK")
    let invalid = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(invalid.status == ExitStatus.migrationFailed.rawValue)
    #expect(
      invalid.stdout.contains("DROP INDEX CONCURRENTLY public.items_sku"), "\(invalid.stdout)\(invalid.stderr)")
    try await monitor.execute("DROP INDEX CONCURRENTLY public.items_sku")
    let interrupted = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(interrupted.status == ExitStatus.migrationFailed.rawValue)
    #expect(interrupted.stdout.contains("20240102000000_sku failed before"), "\(interrupted.stdout)")
    #expect(
      try await CLIRunner.run(["migrate", "resolve", "-f", plan, "--rolled-back", "20240102000000_sku"]).status == 0)
    let deployed = try await CLIRunner.run(["migrate", "deploy", "-f", plan])
    #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
    #expect(
      try await monitor.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_sku'::regclass").scalar == "t")
  }
}
