import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave copy` killed with SIGKILL at several moments, then run again: the target ends equal to the source,
/// with no row missing and none twice.
@Suite(.postgres, .tags(.integration)) struct CopyResumeTests {
  @Test func resumesAfterKillNineAtSeveralPoints() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("resume_src")
    let setup = try await SerialConnection.connect(source)
    // Big enough that kills land in the middle of tables (split into key ranges), small enough for a test.
    try await setup.execute(
      """
      CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(12,2), note text);
      INSERT INTO orders SELECT i, 'customer ' || (i % 997), (i % 10000) / 100.0, repeat(md5(i::text), 4)
        FROM generate_series(1, 400000) i;
      CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, sku text);
      INSERT INTO order_items (order_id, sku) SELECT 1 + i % 400000, 'sku-' || i FROM generate_series(1, 300000) i;
      CREATE TABLE audit (id serial PRIMARY KEY, what text);
      INSERT INTO audit (what) SELECT 'event ' || i FROM generate_series(1, 50000) i;
      ANALYZE;
      """)
    let temporary = try TemporaryFolder("resume")
    defer { temporary.remove() }
    let (folder, suffix) = (temporary.path, temporary.suffix)
    let plan = folder + "/cleave.yml"
    try """
    source: ${SRC}
    targets:
      main: ${DST}
    services:
      orders_\(suffix):
        database: orders_\(suffix)
        tables: [public.orders, public.order_items]
      audit_\(suffix):
        database: audit_\(suffix)
        tables: [public.audit]
    """.write(toFile: plan, atomically: true, encoding: .utf8)
    let environment = ["SRC": source.flattened, "DST": sandbox.connInfo().rawValue]
    let arguments = [
      "copy", "-f", plan, "--secrets", folder + "/secrets.env", "--jobs", "2", "--split-mb", "8",
    ]

    var kills = 0
    var finishedBeforeTheKill: [String] = []
    for delay in [150, 400, 700, 1000, 1400, 1900, 2500] {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
      process.arguments = arguments
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
      process.standardOutput = FileHandle.nullDevice
      let errors = Pipe()
      process.standardError = errors
      try process.run()
      try await Task.sleep(for: .milliseconds(delay))
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        kills += 1
      } else {
        let message = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
        finishedBeforeTheKill.append("after \(delay) ms, status \(process.terminationStatus): \(message)")
      }
      process.waitUntilExit()
    }
    #expect(kills >= 3, "the copy finished too fast for the kills to land: \(finishedBeforeTheKill)")
    let final = try await CLIRunner.run(arguments, environment: environment)
    #expect(final.status == 0, "\(final.stderr)")
    guard final.status == 0 else { return }

    let orders = sandbox.connInfo(database: "orders_\(suffix)")
    let audit = sandbox.connInfo(database: "audit_\(suffix)")
    for (table, target) in [("orders", orders), ("order_items", orders), ("audit", audit)] {
      let query = "SELECT * FROM \(table)"
      #expect(
        try await fingerprint(query, in: target) == fingerprint(query, in: source), "\(table) differs after resume")
    }
    let ranges = try await SerialConnection.connect(orders).query(
      "SELECT count(*) FROM _cleave.progress WHERE step LIKE 'data public.orders %'"
    ).scalar
    #expect((Int(ranges ?? "0") ?? 0) > 1, "orders was not split into ranges")
    let sequence = "SELECT last_value, is_called FROM order_items_id_seq"
    #expect(
      try await SerialConnection.connect(orders).query(sequence).rows
        == SerialConnection.connect(source).query(sequence).rows)
  }

  func fingerprint(_ query: String, in info: ConnInfo) async throws -> String {
    try await Fixtures.fingerprint(query, in: info)
  }
}
