import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave online cutover` and `rollback` (issue 14): pgbench writes through a real PgBouncer the whole time; each
/// switch holds its writes for a moment and fails none of them, the tables are equal as of the switch, and the
/// writes made on either side come over to the other.
@Suite(.postgres, .tags(.integration)) struct OnlineCutoverTests {
  /// On a cluster of its own: a slot made inside the freeze waits for every transaction on the server, and the
  /// suite's other tests run long ones.
  @Test func cutoverRollbackAndCutoverAgainUnderWritesThroughPgBouncerLoseNothing() async throws {
    try await PostgresSandbox.withCluster { try await Self.switches(on: $0) }
  }

  static func switches(on sandbox: PostgresSandbox) async throws {
    let source = try await sandbox.makeDatabase("cutover_src")
    let sourceSession = try await SerialConnection.connect(source)
    try await sourceSession.execute(OnlineStreamTests.sourceSQL)
    let sourceName = try #require(try await sourceSession.query("SELECT current_database()").scalar)
    let bouncer = try await PgBouncerSandbox.start(for: sandbox, entries: ["shop": sourceName])
    defer { bouncer.stop() }
    let folder = try TemporaryFolder("online_cutover")
    defer { folder.remove() }
    let service = "shop_\(folder.suffix)"
    let plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        shop:
          database: \(service)
          tables: [public.orders, public.items]
          switch:
            pgbouncer:
              admin: \(bouncer.adminURL)
              config: \(bouncer.databasesFile)
              database: shop
        """)
    let application = try Pgbench(
      database: bouncer.connInfo(entry: "shop"), script: OnlineStreamTests.writeSQL, rate: 200,
      folder: folder.path)
    defer { application.stop() }
    let start = try await CLIRunner.run(["online", "start", "-f", plan])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")

    let dryRun = try await CLIRunner.run(
      ["online", "cutover", "-f", plan, "--service", "shop", "--steady", "1", "--dry-run"])
    #expect(dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
    #expect(dryRun.stdout.contains("the gate passes; nothing was changed"), "\(dryRun.stdout)")

    let cutover = try await CLIRunner.run(
      ["online", "cutover", "-f", plan, "--service", "shop", "--steady", "1", "--format", "json"])
    #expect(cutover.status == 0, "\(cutover.stdout)\(cutover.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(cutover.stdout.utf8)) as? [String: Any]
    #expect(report?["state"] as? String == "cut-over", "\(cutover.stdout)")
    let freeze = try #require(report?["freezeMilliseconds"] as? Int, "\(cutover.stdout)")
    #expect(freeze < 5000, "\(cutover.stdout)")
    let tables = report?["tables"] as? [[String: Any]] ?? []
    #expect(tables.count == 2 && tables.allSatisfy { $0["equal"] as? Bool == true }, "\(cutover.stdout)")
    // The entry now points at the service database; nothing else in the file changed.
    let entries = try String(contentsOfFile: bouncer.databasesFile, encoding: .utf8)
    #expect(entries.contains("shop = host=127.0.0.1 port=\(sandbox.port) dbname=\(service)"), "\(entries)")
    #expect(entries.hasPrefix("[databases]\n"), "\(entries)")

    // The application goes on writing, now to the service database.
    let target = try await SerialConnection.connect(sandbox.connInfo(database: service))
    try await expectWrites(on: target, "the application's writes reach the service database after the switch")
    application.stop()
    #expect(!application.output.contains("ERROR") && !application.output.contains("aborted"), "\(application.output)")
    // The reverse stream brings the service database's writes back to the source, exactly.
    try await expectSameRows(source, sandbox.connInfo(database: service), "after the cutover")
    // Cut over, status measures the reverse stream: a heartbeat from the service database reaches the source.
    let status = try await CLIRunner.run(["online", "status", "-f", plan, "--format", "json"])
    #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
    let services = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
    let shopStatus = (services?["services"] as? [[String: Any]])?.first
    let reverse = try #require(shopStatus?["reverse"] as? [String: Any], "\(status.stdout)")
    #expect(shopStatus?["state"] as? String == "cut-over", "\(status.stdout)")
    #expect((reverse["lagSeconds"] as? Double).map { $0 < 10 } == true, "\(status.stdout)")
    #expect((reverse["lagBytes"] as? Int).map { $0 >= 0 } == true, "\(status.stdout)")
    #expect(reverse["walRetainedBytes"] is Int, "\(status.stdout)")
    let statusText = try await CLIRunner.run(["online", "status", "-f", plan])
    #expect(statusText.stdout.contains("reverse stream cleave_shop_"), "\(statusText.stdout)")
    // Cut over, no slot is left on the source to hold its WAL back (a rollback makes the forward one again).
    let slotsHere = "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"
    #expect(try await sourceSession.query(slotsHere).scalar == "0")
    let again = try await CLIRunner.run(["online", "cutover", "-f", plan, "--service", "shop"])
    #expect(again.status == 0 && again.stdout.contains("already cut over"), "\(again.stdout)\(again.stderr)")

    // Roll back under writes: the application goes back to the source with everything it wrote meanwhile, the
    // forward stream runs again (and carries the source's new writes), and a second cutover works.
    let writer = try Pgbench(
      database: bouncer.connInfo(entry: "shop"), script: OnlineStreamTests.writeSQL, rate: 200, folder: folder.path)
    defer { writer.stop() }
    let rollback = try await CLIRunner.run(
      ["online", "rollback", "-f", plan, "--service", "shop", "--steady", "1", "--format", "json"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    let back = try JSONSerialization.jsonObject(with: Data(rollback.stdout.utf8)) as? [String: Any]
    #expect(back?["state"] as? String == "streaming", "\(rollback.stdout)")
    #expect(
      (back?["tables"] as? [[String: Any]] ?? []).allSatisfy { $0["equal"] as? Bool == true }, "\(rollback.stdout)")
    let restored = try String(contentsOfFile: bouncer.databasesFile, encoding: .utf8)
    #expect(restored.contains("shop = host=127.0.0.1 port=\(sandbox.port) dbname=\(sourceName)"), "\(restored)")
    try await expectWrites(on: sourceSession, "the application writes to the source after the rollback")
    #expect(try await sourceSession.query(slotsHere).scalar == "1")
    let recut = try await CLIRunner.run(["online", "cutover", "-f", plan, "--service", "shop", "--steady", "1"])
    #expect(recut.status == 0, "\(recut.stdout)\(recut.stderr)")
    try await expectWrites(on: target, "the application writes to the service database after the second cutover")
    writer.stop()
    #expect(!writer.output.contains("ERROR") && !writer.output.contains("aborted"), "\(writer.output)")
    try await expectSameRows(source, sandbox.connInfo(database: service), "after rollback and a second cutover")

    // Complete: the reverse stream, slots and publications go; the source stays fenced; rollback is refused.
    let unconfirmed = try await CLIRunner.run(["online", "complete", "-f", plan, "--service", "shop"])
    #expect(unconfirmed.status == ExitStatus.safetyStepFailed.rawValue, "\(unconfirmed.stdout)\(unconfirmed.stderr)")
    let complete = try await CLIRunner.run(["online", "complete", "-f", plan, "--service", "shop", "--yes"])
    #expect(complete.status == 0 && complete.stdout.contains("shop: completed"), "\(complete.stdout)\(complete.stderr)")
    #expect(try await sourceSession.query("SELECT count(*) FROM pg_replication_slots").scalar == "0")
    #expect(try await sourceSession.query("SELECT count(*) FROM pg_subscription").scalar == "0")
    #expect(try await sourceSession.query("SELECT count(*) FROM pg_publication").scalar == "0")
    #expect(try await target.query("SELECT count(*) FROM pg_publication").scalar == "0")
    #expect(try await target.query("SELECT count(*) FROM pg_subscription").scalar == "0")
    #expect(
      try await target.query("SELECT state FROM _cleave_online.journal WHERE service = 'shop'").scalar
        == "completed")
    await #expect(throws: PostgresError.self) {
      try await sourceSession.execute("INSERT INTO orders (customer, total, note) VALUES (1, 1, 'after complete')")
    }
    let rerun = try await CLIRunner.run(["online", "complete", "-f", plan, "--service", "shop", "--yes"])
    #expect(rerun.status == 0 && rerun.stdout.contains("completed (already)"), "\(rerun.stdout)\(rerun.stderr)")
    let late = try await CLIRunner.run(["online", "rollback", "-f", plan, "--service", "shop", "--steady", "1"])
    #expect(late.status == ExitStatus.onlineRefused.rawValue, "\(late.stdout)\(late.stderr)")
    #expect(late.stderr.contains("error[CLVB004]"), "\(late.stderr)")
  }

  /// Waits until the application (pgbench) has written 50 more orders on `side`.
  private static func expectWrites(on side: SerialConnection, _ what: Comment) async throws {
    let before = try #require(try await side.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) })
    let wrote = try await eventually(within: 30) {
      try await side.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) } ?? 0 > before + 50
    }
    #expect(wrote, what)
  }

  /// Waits until both databases hold the same rows in both tables (a stream is still applying the last writes).
  private static func expectSameRows(_ one: ConnInfo, _ other: ConnInfo, _ when: String) async throws {
    for query in ["SELECT * FROM orders", "SELECT * FROM items"] {
      let expected = try await Fixtures.fingerprint(query, in: other)
      let same = try await eventually(within: 30) { try await Fixtures.fingerprint(query, in: one) == expected }
      #expect(same, "\(query): both sides hold the same rows \(when)")
    }
  }
}
