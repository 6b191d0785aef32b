import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave run` and `cleave status` read what is done from the targets, for every service the plan names now:
/// a service added after a run is made, a second plan in the same folder is run for real, and `status` sees
/// `copy`, `verify` and `config` run on their own and a verify that fails (issue 11, failures 1 and 7).
@Suite(.postgres, .tags(.integration)) struct RunStatusTests {
  static let schema = """
    CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2));
    INSERT INTO customers (email) SELECT 'c' || i || '@example.com' FROM generate_series(1, 40) i;
    INSERT INTO orders (customer_id, total) SELECT 1 + i % 40, i FROM generate_series(1, 90) i;
    """

  func services(_ status: CLIRunner.Output) throws -> [String: [String: Any]] {
    let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
    let list = try #require(json?["services"] as? [[String: Any]], "\(status.stdout)\(status.stderr)")
    return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
  }

  @Test func aServiceAddedAfterARunIsMadeByTheNextRun() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("added_src")
    try await SerialConnection.connect(source).execute(Self.schema)
    let folder = try TemporaryFolder("added")
    defer { folder.remove() }
    let suffix = folder.suffix
    let one = """
      accounts:
        database: accounts_\(suffix)
        tables: [customers]
      """
    let plan = try folder.writePlan(source: source.flattened, target: sandbox.connInfo().rawValue, services: one)
    let run = ["run", "-f", plan, "--secrets", folder.path + "/secrets.env"]
    let first = try await CLIRunner.run(run)
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")

    _ = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: one + """

        orders:
          database: orders_\(suffix)
          tables: [orders]
        """)
    let second = try await CLIRunner.run(run)
    #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
    for step in ["backup", "copy", "verify", "config"] {
      #expect(second.stdout.contains("\(step) ..."), "\(step) ran again for the new service: \(second.stdout)")
    }
    let query = "SELECT * FROM orders ORDER BY id"
    #expect(
      try await Fixtures.fingerprint(query, in: sandbox.connInfo(database: "orders_\(suffix)"))
        == Fixtures.fingerprint(query, in: source))
    let env = try String(contentsOfFile: folder.path + "/.cleave/config/.env", encoding: .utf8)
    #expect(env.contains("ORDERS_DATABASE_URL="))
    let status = try services(try await CLIRunner.run(["status", "-f", plan, "--format", "json"]))
    #expect(status["orders"]?["verifiedAt"] is String && status["accounts"]?["verifiedAt"] is String)

    // `cleave run`'s config step writes what `cleave config` writes for the same plan, byte for byte.
    for format in ["env", "spring", "compose"] {
      let run = try await CLIRunner.run(
        run + ["--config-format", format, "--config-dir", folder.path + "/run-\(format)"])
      #expect(run.status == 0, "\(run.stderr)")
      let config = try await CLIRunner.run(
        ["config", "-f", plan, "--format", format, "--out", folder.path + "/config-\(format)"])
      #expect(config.status == 0, "\(config.stderr)")
      let files = try FileManager.default.subpathsOfDirectory(atPath: folder.path + "/config-\(format)").sorted()
      #expect(try FileManager.default.subpathsOfDirectory(atPath: folder.path + "/run-\(format)").sorted() == files)
      for file in files {
        var isFolder: ObjCBool = false
        FileManager.default.fileExists(atPath: folder.path + "/config-\(format)/" + file, isDirectory: &isFolder)
        if isFolder.boolValue { continue }
        #expect(
          FileManager.default.contents(atPath: folder.path + "/run-\(format)/" + file)
            == FileManager.default.contents(atPath: folder.path + "/config-\(format)/" + file), "\(format): \(file)")
      }
    }
  }

  @Test func aSecondPlanInTheSameFolderRunsForReal() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let staging = try await sandbox.makeDatabase("folder_staging")
    let prod = try await sandbox.makeDatabase("folder_prod")
    try await SerialConnection.connect(staging).execute(Self.schema)
    try await SerialConnection.connect(prod).execute(Self.schema + "INSERT INTO orders (customer_id) VALUES (7);")
    let folder = try TemporaryFolder("folder")
    defer { folder.remove() }
    for (name, source) in [("staging", staging), ("prod", prod)] {
      let path = try folder.writePlan(
        source: source.flattened, target: sandbox.connInfo().rawValue,
        services: """
          orders:
            database: orders_\(name)_\(folder.suffix)
            tables: [orders]
          """, name: name)
      let run = try await CLIRunner.run(["run", "-f", path, "--config-dir", folder.path + "/\(name)-config"])
      #expect(run.status == 0, "\(name): \(run.stdout)\(run.stderr)")
      #expect(!run.stdout.contains("done before"), "\(name) did every step itself: \(run.stdout)")
    }
    let query = "SELECT * FROM orders ORDER BY id"
    #expect(
      try await Fixtures.fingerprint(query, in: sandbox.connInfo(database: "orders_prod_\(folder.suffix)"))
        == Fixtures.fingerprint(query, in: prod))
    // Each plan's secrets are next to it, in a file of its own.
    #expect(FileManager.default.fileExists(atPath: folder.path + "/staging.secrets.env"))
    #expect(FileManager.default.fileExists(atPath: folder.path + "/prod.secrets.env"))
  }

  @Test func statusSeesCopyVerifyAndConfigRunOnTheirOwnAndAVerifyThatFails() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("alone_src")
    try await SerialConnection.connect(source).execute(Self.schema)
    let folder = try TemporaryFolder("alone")
    defer { folder.remove() }
    let database = "orders_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        orders:
          database: \(database)
          tables: [orders]
        """)
    let status = ["status", "-f", plan, "--format", "json"]
    #expect(try await CLIRunner.run(["copy", "-f", plan]).status == 0)
    var orders = try #require(try services(try await CLIRunner.run(status))["orders"])
    #expect(orders["copiedAt"] is String && orders["verifiedAt"] == nil)
    #expect((orders["next"] as? String)?.hasPrefix("verify") == true, "\(orders)")

    #expect(try await CLIRunner.run(["verify", "-f", plan]).status == 0)
    orders = try #require(try services(try await CLIRunner.run(status))["orders"])
    #expect(orders["verifiedAt"] is String && orders["configuredAt"] == nil)

    #expect(try await CLIRunner.run(["config", "-f", plan, "--out", folder.path + "/config"]).status == 0)
    orders = try #require(try services(try await CLIRunner.run(status))["orders"])
    #expect(orders["configuredAt"] is String)

    // A row changed in the service database: the next verify fails, and status says so.
    try await SerialConnection.connect(sandbox.connInfo(database: database)).execute(
      "UPDATE orders SET total = total + 1 WHERE id = 3")
    #expect(try await CLIRunner.run(["verify", "-f", plan]).status == ExitStatus.verificationFailed.rawValue)
    let text = try await CLIRunner.run(["status", "-f", plan])
    #expect(text.stdout.contains("verified     FAILED at"), "\(text.stdout)")
    orders = try #require(try services(try await CLIRunner.run(status))["orders"])
    #expect(orders["verifiedAt"] == nil && orders["verifyFailedAt"] is String)
    #expect((orders["next"] as? String)?.hasPrefix("fix what verify found") == true, "\(orders)")
  }

  /// A freeze trigger disabled after `freeze`: `status` shows the open fence, `verify` fails on it though the
  /// data matches, and `freeze` run again re-arms it and says so (issue 12).
  @Test func anOpenFenceIsReportedByStatusAndVerifyAndClosedByFreeze() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("fence_src")
    let admin = try await SerialConnection.connect(source)
    try await admin.execute(Self.schema)
    let folder = try TemporaryFolder("fence")
    defer { folder.remove() }
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: "orders:\n  database: orders_\(folder.suffix)\n  tables: [orders]")
    #expect(try await CLIRunner.run(["copy", "-f", plan]).status == 0)
    #expect(try await CLIRunner.run(["freeze", "-f", plan]).status == 0)
    try await admin.execute(
      "ALTER EVENT TRIGGER cleave_freeze_ddl DISABLE; ALTER TABLE orders DISABLE TRIGGER cleave_freeze")

    let status = try await CLIRunner.run(["status", "-f", plan])
    #expect(status.stdout.contains("FREEZE OPEN  public.orders"), "\(status.stdout)")
    #expect(status.stdout.contains("run cleave freeze again"), "\(status.stdout)")
    let verify = try await CLIRunner.run(["verify", "-f", plan])
    #expect(verify.status == ExitStatus.safetyStepFailed.rawValue, "\(verify.stdout)\(verify.stderr)")
    #expect(
      verify.stderr.contains("CLV8006") && verify.stderr.contains("cleave_freeze is disabled"), "\(verify.stderr)")

    let again = try await CLIRunner.run(["freeze", "-f", plan])
    #expect(again.status == 0 && again.stdout.contains("re-armed: public.orders"), "\(again.stdout)\(again.stderr)")
    #expect(try await CLIRunner.run(["verify", "-f", plan]).status == 0)
    await #expect(throws: PostgresError.self) { try await admin.execute("DELETE FROM orders") }
    #expect(try await CLIRunner.run(["unfreeze", "-f", plan]).status == 0)
  }

  @Test func aCopyOfOneServiceLeavesTheOthersAlone() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("one_src")
    try await SerialConnection.connect(source).execute(Self.schema)
    let folder = try TemporaryFolder("one")
    defer { folder.remove() }
    let suffix = folder.suffix
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        accounts:
          database: accounts_\(suffix)
          tables: [customers]
        orders:
          database: orders_\(suffix)
          tables: [orders]
        """)
    let one = try await CLIRunner.run(["copy", "-f", plan, "--service", "orders"])
    #expect(one.status == 0, "\(one.stderr)")
    var status = try services(try await CLIRunner.run(["status", "-f", plan, "--format", "json"]))
    #expect(status["orders"]?["copiedAt"] is String)
    #expect(status["accounts"]?["provisioned"] as? Bool == false)
    let unknown = try await CLIRunner.run(["copy", "-f", plan, "--service", "order"])
    #expect(unknown.status == ExitStatus.planInvalid.rawValue && unknown.stderr.contains("did you mean `orders`"))
    let all = try await CLIRunner.run(["copy", "-f", plan])
    #expect(all.status == 0, "\(all.stderr)")
    status = try services(try await CLIRunner.run(["status", "-f", plan, "--format", "json"]))
    #expect(status["accounts"]?["copiedAt"] is String && status["orders"]?["copiedAt"] is String)
  }
}
