import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The online tests' shop: `OnlineStreamTests.sourceSQL` on a fresh source database, a PgBouncer whose `shop`
/// entry points at it, and a plan whose service `shop` switches that entry.
///
/// The switch tests give it a cluster of their own (`PostgresSandbox.withCluster`): making a slot inside the freeze
/// waits for every transaction running on the server, and the suite's other tests run long ones.
struct OnlineFixture {
  let sandbox: PostgresSandbox
  let source: ConnInfo
  let sourceName: String
  let bouncer: PgBouncerSandbox
  let folder: TemporaryFolder
  let plan: String
  /// The service database's name.
  let service: String

  /// Makes the source database, the PgBouncer and the plan.
  ///
  /// - Parameters:
  ///   - name: the prefix of the databases and the folder.
  ///   - sandbox: the cluster.
  ///   - extraSQL: more of the source's schema (an `audit` table, moved too when given).
  ///   - switchYAML: the service's `switch:` body (indented by four spaces), given the fixture's folder; by default
  ///     the PgBouncer entry.
  /// - Throws: when a server refuses.
  init(_ name: String, on sandbox: PostgresSandbox, extraSQL: String = "", switchYAML: ((String) -> String)? = nil)
    async throws
  {
    self.sandbox = sandbox
    source = try await sandbox.makeDatabase(name + "_src")
    let session = try await SerialConnection.connect(source)
    try await session.execute(OnlineStreamTests.sourceSQL + extraSQL)
    sourceName = try #require(try await session.query("SELECT current_database()").scalar)
    await session.close()
    bouncer = try await PgBouncerSandbox.start(for: sandbox, entries: ["shop": sourceName])
    folder = try TemporaryFolder(name)
    service = "shop_\(folder.suffix)"
    let switchBody =
      switchYAML?(folder.path)
      ?? "    pgbouncer:\n      admin: \(bouncer.adminURL)\n      config: \(bouncer.databasesFile)\n"
      + "      database: shop"
    plan = try folder.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        shop:
          database: \(service)
          tables: [public.orders, public.items\(extraSQL.isEmpty ? "" : ", public.audit")]
          switch:
        """ + "\n" + switchBody)
  }

  /// The service database.
  var target: ConnInfo { sandbox.connInfo(database: service) }

  /// pgbench writing orders through PgBouncer at 200 transactions a second.
  func application() throws -> Pgbench {
    try Pgbench(
      database: bouncer.connInfo(entry: "shop"), script: OnlineStreamTests.writeSQL, rate: 200, folder: folder.path)
  }

  /// Whether PgBouncer holds the `shop` entry paused now.
  func isPaused() async throws -> Bool {
    let admin = try await SerialConnection.connect(ConnInfo(bouncer.adminURL))
    defer { Task { await admin.close() } }
    return try await admin.unmarkedCommand("SHOW DATABASES").namedRows.first { $0.string("name") == "shop" }?[
      "paused"] == "1"
  }

  /// The service's online state, from its journal.
  func state() async throws -> String? {
    let target = try await SerialConnection.connect(self.target)
    defer { Task { await target.close() } }
    return try await target.query("SELECT state FROM _cleave_online.journal").scalar
  }

  /// How many of the freeze's triggers and the rollback's fence triggers are on the moved tables, per side.
  func fences() async throws -> (source: Int, target: Int) {
    let query = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cleave%' AND NOT tgisinternal"
    let one = try await SerialConnection.connect(source)
    let other = try await SerialConnection.connect(target)
    defer {
      Task {
        await one.close()
        await other.close()
      }
    }
    return (
      Int(try await one.query(query).scalar ?? "") ?? -1, Int(try await other.query(query).scalar ?? "") ?? -1
    )
  }

  /// Waits until both databases hold the same rows (a stream may still be applying the last writes).
  func expectSameRows(_ when: String) async throws {
    for query in ["SELECT * FROM orders", "SELECT * FROM items"] {
      // Both sides read afresh each time: either one may be the side still catching up.
      let same = try await eventually(within: 30) {
        try await Fixtures.fingerprint(query, in: source) == Fixtures.fingerprint(query, in: target)
      }
      #expect(same, "\(query): both sides hold the same rows \(when)")
    }
  }

  func remove() {
    bouncer.stop()
    folder.remove()
  }
}
