import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave online check` (issue 14, first step): the refusals that must come before any publication exists, each
/// naming its table, and a service it finds nothing against is ready; the source is only read.
@Suite(.postgres, .tags(.integration)) struct OnlineCheckTests {
  @Test func checkRefusesWhatLogicalReplicationCannotCarryAndChangesNothing() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split(
      "online_check",
      sourceSQL: """
        CREATE TABLE ready (id int PRIMARY KEY, note text, deleted boolean);
        CREATE TABLE keyless (id int, note text);
        CREATE TABLE filtered (id int PRIMARY KEY, deleted boolean);
        CREATE TABLE renamed (id int PRIMARY KEY);
        CREATE TABLE ready_too (id int PRIMARY KEY);
        CREATE TABLE full_identity (id int, note text);
        ALTER TABLE full_identity REPLICA IDENTITY FULL;
        """
    ) { suffix in
      """
      good:
        database: good_\(suffix)
        tables: [public.ready, public.full_identity]
        transforms:
          public.ready:
            where: "id > 0"
            columns:
              note: drop
      bad:
        database: bad_\(suffix)
        tables: [public.keyless, public.filtered, public.renamed]
        transforms:
          public.filtered:
            where: "NOT deleted"
          public.renamed:
            rename_to: kept
      shared:
        database: shared_\(suffix)
        schema: shared
        tables: [public.ready_too]
      """
    }
    defer { split.folder.remove() }
    let check = try await CLIRunner.run(["online", "check", "-f", split.plan])
    #expect(check.status == ExitStatus.onlineRefused.rawValue, "\(check.stdout)\(check.stderr)")
    #expect(check.stderr.contains("error[CLVB001]"), "\(check.stderr)")
    let refusals = check.stdout.split(separator: "\n").filter { $0.contains("REFUSED") }
    #expect(refusals.count == 4, "\(check.stdout)")
    #expect(
      refusals.contains { $0.hasPrefix("shared: REFUSED: the service goes to schema shared") }, "\(check.stdout)")
    #expect(refusals.contains { $0.contains("public.keyless has no replica identity") }, "\(check.stdout)")
    #expect(refusals.contains { $0.contains("`where` of public.filtered reads deleted") }, "\(check.stdout)")
    #expect(refusals.contains { $0.contains("public.renamed is not streamed yet") }, "\(check.stdout)")
    #expect(refusals.allSatisfy { $0.hasPrefix("bad:") || $0.hasPrefix("shared:") })
    #expect(check.stdout.contains("good: note: public.full_identity has REPLICA IDENTITY FULL"), "\(check.stdout)")
    #expect(check.stdout.contains("good: ready to stream"), "\(check.stdout)")

    let good = try await CLIRunner.run(["online", "check", "-f", split.plan, "--service", "good", "--format", "json"])
    #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any]
    let findings = json?["findings"] as? [[String: Any]] ?? []
    #expect(findings.allSatisfy { $0["refusal"] as? Bool == false }, "\(good.stdout)")
    let messages = findings.compactMap { $0["message"] as? String }
    #expect(messages.contains { $0.contains("REPLICA IDENTITY FULL") }, "\(good.stdout)")
    #expect(messages.contains { $0.contains("the slot holds back about") }, "\(good.stdout)")
    #expect(messages.contains { $0.hasPrefix("no writer of the moved tables seen now") }, "\(good.stdout)")
    // Nothing was created on the source: no publication, no slot.
    let source = try await SerialConnection.connect(split.source)
    #expect(try await source.query("SELECT count(*) FROM pg_publication").scalar == "0")
    let database = try #require(try await source.query("SELECT current_database()").scalar)
    #expect(
      try await source.query("SELECT count(*) FROM pg_replication_slots WHERE database = $1", [database]).scalar
        == "0")
  }

  /// A source whose `wal_level` is `replica` (its own cluster, restarted so) is refused for every service, with
  /// how to fix it.
  @Test func aSourceWithoutLogicalWALIsRefused() async throws {
    try await PostgresSandbox.withCluster { cluster in
      try await cluster.crashServer()
      try await cluster.startServer(settings: ["wal_level": "replica", "max_wal_senders": "2"])
      let source = try await cluster.makeDatabase("replica_src")
      try await SerialConnection.connect(source).execute("CREATE TABLE ready (id int PRIMARY KEY)")
      let folder = try TemporaryFolder("online_wal")
      defer { folder.remove() }
      let plan = try folder.writePlan(
        source: source.flattened, target: cluster.connInfo().rawValue,
        services: "good:\n  database: good_\(folder.suffix)\n  tables: [public.ready]")
      let check = try await CLIRunner.run(["online", "check", "-f", plan])
      #expect(check.status == ExitStatus.onlineRefused.rawValue, "\(check.stdout)\(check.stderr)")
      #expect(check.stdout.contains("good: REFUSED: the source's wal_level is replica"), "\(check.stdout)")
      #expect(check.stdout.contains("set wal_level = logical"), "\(check.stdout)")
    }
  }

  /// Rights on both servers, a long transaction on a moved table, large objects, and who writes the moved tables
  /// (a session writing now, and a role's statements in `pg_stat_statements`); sequences are listed.
  @Test func checkSeesRightsLongTransactionsLargeObjectsAndWriters() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let plain = "check_plain_\(suffix)"
    let writer = "check_writer_\(suffix)"
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    defer { Task { await admin.close() } }
    try await admin.execute("CREATE ROLE \(plain) LOGIN; CREATE ROLE \(writer) LOGIN")
    let split = try await sandbox.split(
      "online_rights",
      sourceSQL: """
        CREATE EXTENSION pg_stat_statements;
        CREATE TABLE orders (id serial PRIMARY KEY, note text);
        CREATE SEQUENCE invoice_numbers;
        CREATE TABLE invoices (id int PRIMARY KEY DEFAULT nextval('invoice_numbers'), scan oid);
        SELECT lo_create(0);
        GRANT ALL ON orders, orders_id_seq TO \(writer);
        """
    ) { suffix in
      "shop:\n  database: shop_\(suffix)\n  tables: [public.orders, public.invoices]"
    }
    defer { split.folder.remove() }
    // A role's statement, recorded by pg_stat_statements.
    let asWriter = try await SerialConnection.connect(split.source.with("user", writer))
    try await asWriter.execute("INSERT INTO orders (note) VALUES ('from the writer')")
    await asWriter.close()
    // A session holding a moved table in an open transaction.
    let holder = try await SerialConnection.connect(split.source.with("application_name", "billing-app"))
    defer { Task { await holder.close() } }
    try await holder.execute("BEGIN; INSERT INTO invoices (scan) VALUES (NULL)")
    let pid = try #require(try await holder.query("SELECT pg_backend_pid()").scalar)
    let source = try await SerialConnection.connect(split.source)
    defer { Task { await source.close() } }
    #expect(
      try await eventually(within: 10) {
        try await source.query(
          "SELECT now() - xact_start > interval '1.5 seconds' FROM pg_stat_activity WHERE pid = $1", [pid]
        ).scalar == "t"
      })

    let check = try await CLIRunner.run(["online", "check", "-f", split.plan, "--long-transaction", "1"])
    #expect(check.status == ExitStatus.onlineRefused.rawValue, "\(check.stdout)\(check.stderr)")
    let lines = check.stdout.split(separator: "\n").map(String.init)
    #expect(
      lines.contains { $0.contains("REFUSED: transactions have held the moved tables") && $0.contains("billing-app") },
      "\(check.stdout)")
    #expect(
      lines.contains { $0.contains("REFUSED: public.invoices.scan may reference large objects") }, "\(check.stdout)")
    #expect(
      lines.contains {
        $0.contains("note: sequences set at cutover") && $0.contains("public.invoice_numbers")
          && $0.contains("public.orders_id_seq")
      }, "\(check.stdout)")
    #expect(
      lines.contains {
        $0.contains("the moved tables are written by") && $0.contains("\(writer) (statements in pg_stat_statements)")
          && $0.contains("billing-app, writing now")
      }, "\(check.stdout)")
    try await holder.execute("ROLLBACK")

    // As a role that is neither superuser nor REPLICATION, owns nothing, on both servers.
    let restricted = try split.folder.writePlan(
      source: split.source.with("user", plain).flattened,
      target: sandbox.connInfo().with("user", plain).flattened,
      services: "shop:\n  database: shop_\(split.suffix)\n  tables: [public.orders]", name: "restricted")
    let denied = try await CLIRunner.run(["online", "check", "-f", restricted])
    #expect(denied.status == ExitStatus.onlineRefused.rawValue, "\(denied.stdout)\(denied.stderr)")
    #expect(denied.stdout.contains("REFUSED: Cleave's source role may not replicate"), "\(denied.stdout)")
    #expect(denied.stdout.contains("REFUSED: Cleave's source role does not own public.orders"), "\(denied.stdout)")
    #expect(denied.stdout.contains("REFUSED: Cleave's target role may not create a subscription"), "\(denied.stdout)")
    #expect(denied.stdout.contains("note: Cleave's source role is not a superuser"), "\(denied.stdout)")
    try await source.execute("DROP OWNED BY \(writer)")
    try await admin.execute("DROP ROLE \(writer); DROP ROLE \(plain)")
  }
}
