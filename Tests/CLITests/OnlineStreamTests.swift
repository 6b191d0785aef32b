import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave online start`, `status` and `cancel` (issue 14): the seed copied in the slot's snapshot and the stream
/// from its consistent point meet with nothing lost or applied twice, while an application writes throughout.
@Suite(.postgres, .tags(.integration)) struct OnlineStreamTests {
  static let sourceSQL = """
    CREATE TABLE orders (id serial PRIMARY KEY, customer int NOT NULL, total numeric(12,2), note text);
    CREATE TABLE items (id bigserial PRIMARY KEY, order_id int NOT NULL REFERENCES orders, qty int, secret text);
    INSERT INTO orders (customer, total, note) SELECT i % 97, i * 1.5, 'seed ' || i FROM generate_series(1, 5000) i;
    INSERT INTO items (order_id, qty, secret) SELECT 1 + i % 5000, i % 7, 'x' FROM generate_series(1, 20000) i;
    """

  /// One application transaction (a pgbench script): a new order with two items, an update and a delete of older
  /// rows.
  static let writeSQL = """
    BEGIN;
    WITH o AS (INSERT INTO orders (customer, total, note) VALUES (7, 10.5, 'live') RETURNING id)
    INSERT INTO items (order_id, qty, secret) SELECT id, 1, 'y' FROM o UNION ALL SELECT id, 2, 'z' FROM o;
    UPDATE orders SET total = total + 1 WHERE id = (SELECT max(id) FROM orders) - 3;
    DELETE FROM items WHERE id = (SELECT min(id) FROM items WHERE qty = 3);
    COMMIT;
    """

  @Test func startStreamsWhatTheApplicationWritesAndCancelRemovesItAll() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split("online_stream", sourceSQL: Self.sourceSQL) { suffix in
      """
      shop:
        database: shop_\(suffix)
        tables: [public.orders, public.items]
        transforms:
          public.items:
            columns:
              secret: drop
      """
    }
    defer { split.folder.remove() }
    // The application (pgbench) writes before, during and after the start.
    let application = try Pgbench(
      database: split.source, script: Self.writeSQL, rate: 200, folder: split.folder.path)
    let start = try await CLIRunner.run(["online", "start", "-f", split.plan, "--service", "shop"])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
    #expect(start.stdout.contains("shop: streaming"), "\(start.stdout)")
    // Some more writes after the stream started, then the application stops.
    let source = try await SerialConnection.connect(split.source)
    let ordersAtStart = try #require(try await source.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) })
    let wroteMore = try await eventually(within: 30) {
      try await source.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) } ?? 0 > ordersAtStart + 50
    }
    #expect(wroteMore)
    application.stop()

    // Status writes a heartbeat and waits for it: every earlier commit is applied when it returns.
    let status = try await CLIRunner.run(["online", "status", "-f", split.plan, "--format", "json"])
    #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
    let shop = try #require((json?["services"] as? [[String: Any]])?.first)
    #expect(shop["state"] as? String == "streaming", "\(status.stdout)")
    #expect(shop["lagSeconds"] as? Double != nil, "\(status.stdout)")
    #expect((shop["walRetainedBytes"] as? Int ?? -1) >= 0, "\(status.stdout)")
    let tables = (shop["tables"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
    #expect(tables == ["public.items", "public.orders"], "\(status.stdout)")

    // The service database equals the source as the plan projects it, row for row (sequences are set at cutover).
    let target = sandbox.connInfo(database: "shop_\(split.suffix)")
    for query in ["SELECT * FROM orders", "SELECT id, order_id, qty FROM items"] {
      let expected = try await Fixtures.fingerprint(query, in: split.source)
      #expect(try await Fixtures.fingerprint(query, in: target) == expected, "\(query)")
    }

    // The source's publication is not copied into the service database.
    let targetSession = try await SerialConnection.connect(target)
    #expect(try await targetSession.query("SELECT count(*) FROM pg_publication").scalar == "0")
    await targetSession.close()

    // Cancel needs --yes without a terminal, then removes the subscription, slot, publication and the copy.
    let unconfirmed = try await CLIRunner.run(["online", "cancel", "-f", split.plan, "--service", "shop"])
    #expect(unconfirmed.status == ExitStatus.safetyStepFailed.rawValue, "\(unconfirmed.stdout)\(unconfirmed.stderr)")
    let cancel = try await CLIRunner.run(["online", "cancel", "-f", split.plan, "--service", "shop", "--yes"])
    #expect(cancel.status == 0, "\(cancel.stdout)\(cancel.stderr)")
    let database = try #require(try await source.query("SELECT current_database()").scalar)
    #expect(
      try await source.query("SELECT count(*) FROM pg_replication_slots WHERE database = $1", [database]).scalar
        == "0")
    #expect(try await source.query("SELECT count(*) FROM pg_publication").scalar == "0")
    #expect(try await source.query("SELECT to_regnamespace('_cleave_online') IS NULL").scalar == "t")
    #expect(
      try await source.query("SELECT count(*) FROM pg_database WHERE datname = $1", ["shop_\(split.suffix)"]).scalar
        == "0")
  }

  /// `kill -9` as the slot is made, during the seed, as the seed finishes and as the subscription is made; each
  /// rerun drops what the killed one left (its snapshot died with it) and the last one streams, with one slot,
  /// exactly the source's rows, while the application writes throughout.
  @Test func aStartKilledAtEachStepIsResumedByRunningItAgain() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split("online_killed", sourceSQL: Self.sourceSQL) { suffix in
      "shop:\n  database: shop_\(suffix)\n  tables: [public.orders, public.items]"
    }
    defer { split.folder.remove() }
    let application = try Pgbench(
      database: split.source, script: Self.writeSQL, rate: 200, folder: split.folder.path)
    let arguments = ["online", "start", "-f", split.plan, "--service", "shop", "--verbose", "--split-mb", "1"]
    var kills = 0
    for marker in ["online start: slot", "copy: data", "copy: finish", "online start: subscription"] {
      if try CLIRunner.runKilled(on: marker, arguments).killed { kills += 1 }
    }
    #expect(kills >= 3, "the kills landed mid-run")
    let start = try await CLIRunner.run(arguments)
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
    application.stop()
    let status = try await CLIRunner.run(["online", "status", "-f", split.plan])
    #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
    #expect(status.stdout.contains("shop: streaming"), "\(status.stdout)")
    let target = sandbox.connInfo(database: "shop_\(split.suffix)")
    for query in ["SELECT * FROM orders", "SELECT * FROM items"] {
      let expected = try await Fixtures.fingerprint(query, in: split.source)
      #expect(try await Fixtures.fingerprint(query, in: target) == expected, "\(query)")
    }
    let source = try await SerialConnection.connect(split.source)
    let database = try #require(try await source.query("SELECT current_database()").scalar)
    #expect(
      try await source.query("SELECT count(*) FROM pg_replication_slots WHERE database = $1", [database]).scalar
        == "1")
    let cancel = try await CLIRunner.run(["online", "cancel", "-f", split.plan, "--service", "shop", "--yes"])
    #expect(cancel.status == 0, "\(cancel.stdout)\(cancel.stderr)")
  }

  /// DDL on a moved table on the source while streaming (PostgreSQL does not replicate it) stops the stream at that
  /// very transaction: every change before it is applied, none after; `status` and the cutover's gate name the
  /// command; DDL on a table the service does not move is no concern; cancel removes the event trigger too.
  @Test func ddlOnAMovedTableStopsTheStreamWithAClearMessage() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split(
      "online_ddl", sourceSQL: Self.sourceSQL + "CREATE TABLE other (id int PRIMARY KEY);"
    ) { suffix in
      "shop:\n  database: shop_\(suffix)\n  tables: [public.orders, public.items]\n  switch:\n    command: /bin/true"
    }
    defer { split.folder.remove() }
    let start = try await CLIRunner.run(["online", "start", "-f", split.plan, "--service", "shop"])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
    let source = try await SerialConnection.connect(split.source)
    defer { Task { await source.close() } }
    try await source.execute(
      """
      INSERT INTO orders (customer, total, note) VALUES (1, 1, 'before');
      ALTER TABLE other ADD COLUMN label text;
      INSERT INTO orders (customer, total, note) VALUES (2, 2, 'before too');
      """)
    try await source.execute(
      "BEGIN; ALTER TABLE orders ADD COLUMN gift boolean; INSERT INTO orders (customer, note) VALUES (3, 'with'); COMMIT"
    )
    try await source.execute("INSERT INTO orders (customer, total, note) VALUES (4, 4, 'after')")
    #expect(try await source.query("SELECT count(*) FROM _cleave_online.ddl").scalar == "1")

    let target = try await SerialConnection.connect(sandbox.connInfo(database: "shop_\(split.suffix)"))
    defer { Task { await target.close() } }
    // pg_subscription lists every database's subscriptions: the suite's other tests have theirs.
    let stopped = try await eventually(within: 60) {
      try await target.query(
        "SELECT subenabled FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
      ).scalar == "f"
    }
    #expect(stopped, "the subscription disabled itself at the DDL")
    #expect(
      try await target.query("SELECT string_agg(note, ',' ORDER BY id) FROM orders WHERE id > 5000").scalar
        == "before,before too")
    #expect(try await target.query("SELECT count(*) FROM orders").scalar == "5002")

    let status = try await CLIRunner.run(["online", "status", "-f", split.plan])
    #expect(status.status == ExitStatus.onlineRefused.rawValue, "\(status.stdout)\(status.stderr)")
    #expect(status.stdout.contains("ALTER TABLE on public.orders"), "\(status.stdout)")
    #expect(status.stdout.contains("ADD COLUMN gift boolean"), "\(status.stdout)")
    #expect(!status.stdout.contains("public.other"), "\(status.stdout)")
    let cutover = try await CLIRunner.run(["online", "cutover", "-f", split.plan, "--service", "shop"])
    #expect(cutover.status != 0)
    #expect(cutover.stderr.contains("ALTER TABLE on public.orders"), "\(cutover.stderr)")
    let log = try String(contentsOfFile: sandbox.serverLog, encoding: .utf8)
    #expect(log.contains("cleave: ALTER TABLE on moved table public.orders"))

    let cancel = try await CLIRunner.run(["online", "cancel", "-f", split.plan, "--service", "shop", "--yes"])
    #expect(cancel.status == 0, "\(cancel.stdout)\(cancel.stderr)")
    #expect(try await source.query("SELECT count(*) FROM pg_event_trigger").scalar == "0")
    #expect(try await source.query("SELECT to_regnamespace('_cleave_online') IS NULL").scalar == "t")
  }

  /// `online verify` while pgbench writes: transient differences (rows written between the two snapshots) are not
  /// reported; rows changed in the service database behind the stream's back are, as changed or missing, in every
  /// round, and the cutover's gate refuses on them.
  @Test func verifyWhileStreamingReportsOnlyDifferencesThatPersist() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split("online_verify", sourceSQL: Self.sourceSQL) { suffix in
      """
      shop:
        database: shop_\(suffix)
        tables: [public.orders, public.items]
        transforms:
          public.items:
            columns:
              secret: drop
        switch:
          command: /bin/true
      """
    }
    defer { split.folder.remove() }
    let application = try Pgbench(
      database: split.source, script: Self.writeSQL, rate: 200, folder: split.folder.path)
    defer { application.stop() }
    let start = try await CLIRunner.run(["online", "start", "-f", split.plan, "--service", "shop"])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")

    let clean = try await CLIRunner.run(["online", "verify", "-f", split.plan, "--format", "json"])
    #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any]
    let shop = try #require((json?["services"] as? [[String: Any]])?.first)
    #expect(shop["clean"] as? Bool == true, "\(clean.stdout)")
    let tables = shop["tables"] as? [[String: Any]] ?? []
    #expect(tables.map { $0["table"] as? String ?? "" } == ["public.items", "public.orders"], "\(clean.stdout)")
    #expect(tables.allSatisfy { ($0["rows"] as? Int ?? 0) >= 5000 }, "\(clean.stdout)")

    // Behind the stream's back, in the service database: one order changed, one item gone.
    let target = try await SerialConnection.connect(sandbox.connInfo(database: "shop_\(split.suffix)"))
    defer { Task { await target.close() } }
    try await target.execute("UPDATE orders SET note = 'tampered' WHERE id = 3; DELETE FROM items WHERE id = 5")
    let found = try await CLIRunner.run(["online", "verify", "-f", split.plan, "--service", "shop"])
    #expect(found.status == ExitStatus.onlineRefused.rawValue, "\(found.stdout)\(found.stderr)")
    #expect(found.stderr.contains("error[CLVB007]"), "\(found.stderr)")
    #expect(found.stdout.contains("shop: DIFFERS"), "\(found.stdout)")
    #expect(found.stdout.contains("public.orders:") && found.stdout.contains("1 persisted"), "\(found.stdout)")
    #expect(found.stdout.contains("changed (3): source (3,"), "\(found.stdout)")
    #expect(found.stdout.contains("tampered"), "\(found.stdout)")
    #expect(found.stdout.contains("missing (5): source (5,"), "\(found.stdout)")
    let lines = found.stdout.split(separator: "\n")
    #expect(lines.filter { $0.contains("persisted") }.count == 2, "\(found.stdout)")

    let cutover = try await CLIRunner.run(
      ["online", "cutover", "-f", split.plan, "--service", "shop", "--steady", "1", "--dry-run"])
    #expect(cutover.status == ExitStatus.onlineRefused.rawValue, "\(cutover.stdout)\(cutover.stderr)")
    #expect(cutover.stderr.contains("online verify found differences that persist"), "\(cutover.stderr)")
    application.stop()
    let cancel = try await CLIRunner.run(["online", "cancel", "-f", split.plan, "--service", "shop", "--yes"])
    #expect(cancel.status == 0, "\(cancel.stdout)\(cancel.stderr)")
  }
}
