import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// A target admin with only CREATEDB and CREATEROLE, not a superuser, can make and undo a split, as the docs
/// say (issue 12: provision failed with `must be member of role …_owner`).
@Suite(.postgres, .tags(.integration)) struct TargetAdminTests {
  @Test func anAdminWithCreateDBAndCreateRoleCanProvisionCopyAndRollBack() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("admin_src")
    try await SerialConnection.connect(source).execute(
      "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT i, 'n' || i FROM generate_series(1, 50) i"
    )
    let folder = try TemporaryFolder("admin")
    defer { folder.remove() }
    let admin = "cleave_admin_\(folder.suffix)"
    let superuser = try await SerialConnection.connect(sandbox.connInfo())
    try await superuser.execute("CREATE ROLE \(admin) LOGIN CREATEDB CREATEROLE")
    let database = "notes_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo(user: admin).rawValue,
      services: """
        notes:
          database: \(database)
          tables: [notes]
        """)
    let copy = try await CLIRunner.run(["copy", "-f", plan])
    #expect(copy.status == 0, "\(copy.stderr)")
    let rows = try await SerialConnection.connect(sandbox.connInfo(database: database)).query(
      "SELECT count(*) FROM notes"
    ).scalar
    #expect(rows == "50")
    let rollback = try await CLIRunner.run(["rollback", "-f", plan, "--yes"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(
      try await superuser.query(
        "SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname LIKE $2)",
        [database, database + "_%"]
      ).scalar == "0")
    try await superuser.execute("DROP ROLE \(admin)")
  }

  /// Provision says which other databases of the target the application role can still reach (PostgreSQL
  /// grants CONNECT to PUBLIC by default), and that report is true (issue 12).
  @Test func provisionReportsTheOtherDatabasesTheLoginCanReach() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("reach_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE notes (id int PRIMARY KEY)")
    let folder = try TemporaryFolder("reach")
    defer { folder.remove() }
    let database = "reach_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        notes:
          database: \(database)
          tables: [notes]
        """)
    let provision = try await CLIRunner.run(["provision", "-f", plan])
    #expect(provision.status == 0, "\(provision.stderr)")
    let warning = try #require(
      provision.stdout.split(separator: "\n").first { $0.hasPrefix("warning: \(database)_app can also connect to") })
    #expect(warning.contains("postgres") && warning.contains("template1") && !warning.contains(" \(database),"))
    // The report is true: the application role does get into `postgres`.
    let inside = try await SerialConnection.connect(sandbox.connInfo(database: "postgres", user: "\(database)_app"))
    #expect(try await inside.query("SELECT current_user").scalar == "\(database)_app")
    await inside.close()
  }
}
