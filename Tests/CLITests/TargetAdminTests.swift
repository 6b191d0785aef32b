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

  /// `--harden-other-databases` closes the other databases to the services' login roles and to nobody else.
  ///
  /// It shows the statements and changes nothing without `--yes`, and leaves a database it may not change as it
  /// is. On a cluster of its own, since it closes `postgres` there.
  @Test func provisionClosesTheOtherDatabasesWhenAsked() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("harden_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE notes (id int PRIMARY KEY)")
    try await PostgresSandbox.withCluster { target in
      let superuser = try await SerialConnection.connect(target.connInfo())
      // Another team's database and login on the same server, and a database the admin does not own.
      try await superuser.execute("CREATE ROLE crm_user LOGIN; CREATE ROLE cleave_admin LOGIN CREATEDB CREATEROLE")
      try await superuser.execute("CREATE DATABASE crm")
      let folder = try TemporaryFolder("harden")
      defer { folder.remove() }
      let database = "notes_\(folder.suffix)"
      let login = "\(database)_app"
      // The admin owns `crm` and `postgres` here; `template1` stays the superuser's.
      try await superuser.execute("ALTER DATABASE postgres OWNER TO cleave_admin")
      try await superuser.execute("ALTER DATABASE crm OWNER TO cleave_admin")
      let plan = try folder.writePlan(
        source: source.flattened, target: target.connInfo(user: "cleave_admin").rawValue,
        services: "notes:\n  database: \(database)\n  tables: [notes]")
      func connects(_ user: String, to database: String) async -> Bool {
        guard let session = try? await SerialConnection.connect(target.connInfo(database: database, user: user))
        else { return false }
        await session.close()
        return true
      }

      let asked = try await CLIRunner.run(["provision", "-f", plan, "--harden-other-databases"])
      #expect(asked.status == ExitStatus.safetyStepFailed.rawValue, "\(asked.stdout)\(asked.stderr)")
      #expect(asked.stdout.contains("REVOKE CONNECT ON DATABASE \"crm\" FROM PUBLIC"), "\(asked.stdout)")
      #expect(
        asked.stdout.contains("GRANT CONNECT ON DATABASE \"crm\" TO \"cleave_admin\", \"crm_user\""), "\(asked.stdout)")
      #expect(await connects(login, to: "crm"), "nothing changes without --yes")

      let done = try await CLIRunner.run(["provision", "-f", plan, "--harden-other-databases", "--yes"])
      #expect(done.status == 0, "\(done.stdout)\(done.stderr)")
      #expect(done.stdout.contains("closed crm to PUBLIC; CONNECT kept for cleave_admin, crm_user"), "\(done.stdout)")
      #expect(done.stdout.contains("warning: template1 is left open"), "\(done.stdout)")
      let crm = await connects(login, to: "crm")
      #expect(!crm, "the service's login is refused by crm")
      #expect(await connects("crm_user", to: "crm"), "crm's own user still connects")
      #expect(await connects(login, to: database), "the service's login still reaches its own database")
      // The report after closing is true too: it names what is still open and nothing else.
      let warning = done.stdout.split(separator: "\n").first { $0.hasPrefix("warning: \(login) can also connect") }
      #expect(warning?.contains("template1") == true && warning?.contains("crm") == false, "\(done.stdout)")
      let template = await connects(login, to: "template1")
      #expect(template, "template1, which the admin may not change, is still open, as reported")
    }
  }
}
