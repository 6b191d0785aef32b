import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// What Cleave creates belongs to one plan and one source: two plans on one target never share, take over or
/// remove each other's databases, roles or secrets (issue 11, failures 4, 5 and 6).
@Suite(.postgres, .tags(.integration)) struct PlanIdentityTests {
  /// A source with one table, and a plan in a folder of its own moving it to `database` as service `things`.
  func plan(_ sandbox: PostgresSandbox, source: ConnInfo, database: String, target: String? = nil) throws -> (
    plan: String, secrets: String, folder: TemporaryFolder
  ) {
    let folder = try TemporaryFolder("identity")
    let plan = try folder.writePlan(
      source: source.flattened, target: target ?? sandbox.connInfo().rawValue,
      services: """
        things:
          database: \(database)
          tables: [things]
        """)
    return (plan, folder.path + "/secrets.env", folder)
  }

  func count(_ sandbox: PostgresSandbox, like pattern: String) async throws -> Int {
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    defer { Task { await admin.close() } }
    let value = try await admin.query(
      "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE $1) + "
        + "(SELECT count(*) FROM pg_roles WHERE rolname LIKE $1)", [pattern]
    ).scalar
    return Int(value ?? "0") ?? 0
  }

  @Test func twoPlansWithTheSameServiceNamesOnOneTargetEachRollBackOnlyTheirOwn() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("identity_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let tag = String(UUID().uuidString.prefix(8)).lowercased()
    let first = try plan(sandbox, source: source, database: "things_a_\(tag)")
    let second = try plan(sandbox, source: source, database: "things_b_\(tag)")
    defer {
      first.folder.remove()
      second.folder.remove()
    }
    for each in [first, second] {
      let provision = try await CLIRunner.run(["provision", "-f", each.plan, "--secrets", each.secrets])
      #expect(provision.status == 0, "\(provision.stderr)")
    }
    // A database and two roles each.
    #expect(try await count(sandbox, like: "things_a_\(tag)%") == 3)
    #expect(try await count(sandbox, like: "things_b_\(tag)%") == 3)

    let rollbackSecond = try await CLIRunner.run(["rollback", "-f", second.plan, "--yes", "--secrets", second.secrets])
    #expect(rollbackSecond.status == 0, "\(rollbackSecond.stdout)\(rollbackSecond.stderr)")
    #expect(try await count(sandbox, like: "things_b_\(tag)%") == 0)
    #expect(try await count(sandbox, like: "things_a_\(tag)%") == 3, "the other plan's objects stay")
    #expect(!FileManager.default.fileExists(atPath: second.secrets))
    #expect(FileManager.default.fileExists(atPath: first.secrets))

    let rollbackFirst = try await CLIRunner.run(["rollback", "-f", first.plan, "--yes", "--secrets", first.secrets])
    #expect(rollbackFirst.status == 0, "\(rollbackFirst.stdout)\(rollbackFirst.stderr)")
    #expect(try await count(sandbox, like: "things_a_\(tag)%") == 0)
    #expect(!FileManager.default.fileExists(atPath: first.secrets))
  }

  @Test func aPlanThatNeverRanTakesOverAndRemovesNothingOfAnotherPlansWithTheSameNames() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("never_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let database = "things_\(String(UUID().uuidString.prefix(8)).lowercased())"
    let made = try plan(sandbox, source: source, database: database)
    let other = try plan(sandbox, source: source, database: database)
    defer {
      made.folder.remove()
      other.folder.remove()
    }
    let provision = try await CLIRunner.run(["copy", "-f", made.plan, "--secrets", made.secrets])
    #expect(provision.status == 0, "\(provision.stderr)")
    let secretsBefore = try String(contentsOfFile: made.secrets, encoding: .utf8)

    let clash = try await CLIRunner.run(["provision", "-f", other.plan, "--secrets", other.secrets])
    #expect(clash.status == ExitStatus.targetFailed.rawValue)
    #expect(clash.stderr.contains("CLV5005") && clash.stderr.contains("another plan"), "\(clash.stderr)")
    #expect(!FileManager.default.fileExists(atPath: other.secrets), "a refused provision writes no secrets")

    // Rolled back with the first plan's secrets file, even: it finds nothing of its own and removes nothing.
    let rollback = try await CLIRunner.run(["rollback", "-f", other.plan, "--yes", "--secrets", made.secrets])
    #expect(rollback.status == ExitStatus.safetyStepFailed.rawValue, "\(rollback.stdout)\(rollback.stderr)")
    #expect(rollback.stderr.contains("CLV8005"))
    #expect(try await count(sandbox, like: "\(database)%") == 3)
    #expect(try String(contentsOfFile: made.secrets, encoding: .utf8) == secretsBefore)
    let rows = try await SerialConnection.connect(sandbox.connInfo(database: database)).query(
      "SELECT count(*) FROM things"
    ).scalar
    #expect(rows == "0", "the first plan's database is still there and readable")
  }

  @Test func aRollbackWhoseTargetResolvesElsewhereRemovesNothingAndFails() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("elsewhere_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let database = "things_\(String(UUID().uuidString.prefix(8)).lowercased())"
    try await PostgresSandbox.withCluster { elsewhere in
      // As `cleave init` writes it: the target from a variable, with a default that is another server.
      let made = try plan(
        sandbox, source: source, database: database,
        target: "${CLEAVE_TEST_TARGET_URL:-\(elsewhere.connInfo().rawValue)}")
      defer { made.folder.remove() }
      let copy = try await CLIRunner.run(
        ["copy", "-f", made.plan, "--secrets", made.secrets],
        environment: ["CLEAVE_TEST_TARGET_URL": sandbox.connInfo().rawValue])
      #expect(copy.status == 0, "\(copy.stderr)")
      let secretsBefore = try String(contentsOfFile: made.secrets, encoding: .utf8)

      let rollback = try await CLIRunner.run(["rollback", "-f", made.plan, "--yes", "--secrets", made.secrets])
      #expect(rollback.status == ExitStatus.safetyStepFailed.rawValue, "\(rollback.stdout)\(rollback.stderr)")
      #expect(rollback.stdout.contains("nothing"), "\(rollback.stdout)")
      #expect(try String(contentsOfFile: made.secrets, encoding: .utf8) == secretsBefore)
      #expect(try await count(sandbox, like: "\(database)%") == 3)
    }
  }

  @Test func aProvisionRefusedHalfwayLeavesOnlyMarkedObjectsThatRollbackRemoves() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("halfway_src")
    try await SerialConnection.connect(source).execute(
      "CREATE TABLE things (id int PRIMARY KEY); CREATE TABLE others (id int PRIMARY KEY)")
    let folder = try TemporaryFolder("halfway")
    defer { folder.remove() }
    let tag = folder.suffix
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    try await admin.execute("CREATE DATABASE others_\(tag)")
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        things:
          database: things_\(tag)
          tables: [things]
        others:
          database: others_\(tag)
          tables: [others]
        """)
    let provision = try await CLIRunner.run(["provision", "-f", plan])
    #expect(provision.status == ExitStatus.targetFailed.rawValue && provision.stderr.contains("CLV5001"))
    #expect(try await count(sandbox, like: "things_\(tag)%") == 3, "the first service was made")
    #expect(try await count(sandbox, like: "others_\(tag)_%") == 0, "no role was made for the refused one")

    let rollback = try await CLIRunner.run(["rollback", "-f", plan, "--yes"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(rollback.stdout.contains("leave: database others_\(tag)"))
    #expect(try await count(sandbox, like: "things_\(tag)%") == 0)
    #expect(try await count(sandbox, like: "others_\(tag)%") == 1, "the database Cleave did not make stays")
  }
}
