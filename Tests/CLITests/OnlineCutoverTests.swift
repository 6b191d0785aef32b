import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave online cutover` (issue 14): pgbench writes through a real PgBouncer the whole time; the cutover holds
/// its writes for a moment and fails none of them, the tables are equal as of the switch, the application's later
/// writes land in the service database and come back to the source over the reverse stream.
@Suite(.postgres, .tags(.integration)) struct OnlineCutoverTests {
  @Test func aCutoverUnderWritesThroughPgBouncerFailsNoTransactionAndLosesNothing() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("cutover_src")
    try await SerialConnection.connect(source).execute(OnlineStreamTests.sourceSQL)
    let sourceName = try #require(try await SerialConnection.connect(source).query("SELECT current_database()").scalar)
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
    let ordersAtSwitch = try #require(try await target.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) })
    let wroteThere = try await eventually(within: 30) {
      try await target.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) } ?? 0 > ordersAtSwitch + 50
    }
    #expect(wroteThere, "the application's writes reach the service database after the switch")
    application.stop()
    let output = application.output
    #expect(!output.contains("ERROR") && !output.contains("aborted"), "pgbench saw failures:\n\(output)")

    // The reverse stream brings the service database's writes back to the source, exactly.
    for query in ["SELECT * FROM orders", "SELECT * FROM items"] {
      let expected = try await Fixtures.fingerprint(query, in: sandbox.connInfo(database: service))
      let same = try await eventually(within: 30) { try await Fixtures.fingerprint(query, in: source) == expected }
      let log = (try? String(contentsOfFile: sandbox.serverLog, encoding: .utf8)) ?? ""
      let errors = log.split(separator: "\n").filter { $0.contains("ERROR") || $0.contains("replication") }.suffix(8)
      #expect(same, "\(query): the source lacks rows; the server log says:\n\(errors.joined(separator: "\n"))")
    }
    // Sequences were set from the source: the service database's next ids follow on.
    let again = try await CLIRunner.run(["online", "cutover", "-f", plan, "--service", "shop"])
    #expect(again.status == 0 && again.stdout.contains("already cut over"), "\(again.stdout)\(again.stderr)")
  }
}
