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
    #expect(findings.count == 1 && findings.first?["refusal"] as? Bool == false, "\(good.stdout)")
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
}
