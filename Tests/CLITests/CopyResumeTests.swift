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

    // The first run is killed as soon as it starts restoring the schema; each later one as soon as it
    // reports a finished table or key range (runs skip what is done, so that is a new one), so every kill lands
    // mid-copy however fast or loaded the machine is.
    var kills = 0
    var endings: [String] = []
    for attempt in 0..<6 {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
      process.arguments = arguments
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
      process.standardOutput = FileHandle.nullDevice
      let errors = Pipe()
      process.standardError = errors
      // Watched on Foundation's own queue, not on Swift's cooperative threads, which a loaded test run can keep
      // busy for longer than a whole copy takes.
      let watcher = KillOnOutput(marker: attempt == 0 ? "creating tables" : " tables, ")
      errors.fileHandleForReading.readabilityHandler = { watcher.read($0) }
      try process.run()
      watcher.watch(process.processIdentifier)
      process.waitUntilExit()
      errors.fileHandleForReading.readabilityHandler = nil
      if process.terminationReason == .uncaughtSignal {
        kills += 1
      } else {
        endings.append("attempt \(attempt), status \(process.terminationStatus): \(watcher.text)")
        break
      }
    }
    #expect(kills >= 3, "the copy finished too fast for the kills to land: \(endings)")
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

/// Kills a process (SIGKILL) as soon as its output contains `marker`, from the pipe's readability handler.
final class KillOnOutput: @unchecked Sendable {
  // @unchecked: every field is read and written under `lock`.
  private let lock = NSLock()
  private let marker: String?
  private var pid: pid_t?
  private var killed = false
  private var output = ""

  init(marker: String?) { self.marker = marker }

  var text: String { lock.withLock { output } }

  func watch(_ pid: pid_t) {
    lock.withLock {
      self.pid = pid
      killIfDue()
    }
  }

  /// Called with `lock` held.
  private func killIfDue() {
    if let marker, let pid, !killed, output.contains(marker) {
      kill(pid, SIGKILL)
      killed = true
    }
  }

  func read(_ handle: FileHandle) {
    let data = handle.availableData
    lock.withLock {
      output += String(decoding: data, as: UTF8.self)
      killIfDue()
    }
  }
}
