import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// What the copy says while it runs, and what it leaves ready (issue 15): tables are counted as tables, not as
/// the key ranges they are copied in, every copied table has planner statistics afterwards, and a table copied
/// whole is loaded frozen.
@Suite(.postgres, .tags(.integration)) struct CopyProgressTests {
  @Test func progressCountsTablesNotRangesAndTheCopyLeavesStatistics() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split(
      "copy_progress",
      sourceSQL: """
        CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL);
        INSERT INTO events SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 60000) i;
        CREATE TABLE kinds (id int PRIMARY KEY, name text);
        INSERT INTO kinds SELECT i, 'kind ' || i FROM generate_series(1, 50) i;
        CREATE TABLE empty (id int PRIMARY KEY);
        ANALYZE;
        """
    ) { suffix in
      "log:\n  database: log_\(suffix)\n  tables: [public.events, public.kinds, public.empty]"
    }
    defer { split.folder.remove() }
    let copy = try await CLIRunner.run(["copy", "-f", split.plan, "--split-mb", "1", "--jobs", "2"])
    #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
    let lines = copy.stderr.split(separator: "\n").map(String.init).filter { $0.hasSuffix(" done)") }
    // Without a terminal: one line per finished range, one per finished table; the count is of tables.
    let ranges = lines.filter { $0.contains("(a range of public.events done)") }
    #expect(ranges.count >= 2, "events was copied in ranges: \(copy.stderr)")
    #expect(lines.filter { $0.hasSuffix("(public.events done)") }.count == 1, "\(copy.stderr)")
    #expect(lines.allSatisfy { $0.contains("/3 tables") }, "\(copy.stderr)")
    #expect(lines.last?.contains("3/3 tables") == true, "\(copy.stderr)")
    // A range finishing before its table's last one does not count the table.
    let first = try #require(ranges.first)
    #expect(!first.contains("3/3 tables"), "\(first)")

    // Statistics on every copied table, the empty one included (ANALYZE ran on each).
    let target = try await SerialConnection.connect(sandbox.connInfo(database: "log_\(split.suffix)"))
    defer { Task { await target.close() } }
    let analyzed = try await target.query(
      """
      SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_stat_user_tables
      WHERE analyze_count > 0 AND schemaname = 'public'
      """
    ).scalar
    #expect(analyzed == "empty,events,kinds")
    #expect(
      try await target.query("SELECT count(DISTINCT attname) FROM pg_stats WHERE tablename = 'events'").scalar == "2")

    // A table copied whole was loaded with COPY FREEZE: every page is all-frozen in the visibility map.
    try await target.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
    let frozen =
      "SELECT all_frozen::text || '/' || pg_relation_size($1::regclass) / 8192 FROM pg_visibility_map_summary($1::regclass)"
    #expect(try await target.query(frozen, ["kinds"]).scalar == "1/1")
    // The ranged table's first range emptied it and loaded frozen before the others: some pages, not all.
    let ranged = try #require(try await target.query(frozen, ["events"]).scalar).split(separator: "/")
    #expect(ranged.count == 2 && Int(ranged[0])! > 0 && Int(ranged[0])! < Int(ranged[1])!, "\(ranged)")
  }
}
