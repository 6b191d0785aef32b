import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// A killed copy leaves nothing running: its `pg_dump` dies with it, and the next run stops what the server was
/// still doing for it and says so, or stops itself when the other copy is alive (issue 12).
@Suite(.postgres, .tags(.integration)) struct KilledRunTests {
  func thingsPlan(_ name: String) async throws -> (
    plan: String, folder: TemporaryFolder, source: SerialConnection, database: String
  ) {
    let split = try await #require(PostgresSandbox.current).split(
      name,
      sourceSQL: """
        CREATE TABLE things (id int PRIMARY KEY, label text);
        INSERT INTO things SELECT i, 'thing ' || i FROM generate_series(1, 500) i;
        CREATE TABLE other (id int);
        """
    ) { "things:\n  database: things_\($0)\n  tables: [public.things]" }
    return (split.plan, split.folder, try await SerialConnection.connect(split.source), "things_\(split.suffix)")
  }

  @Test func pgDumpDiesWithAKilledCopy() async throws {
    let (plan, folder, source, _) = try await thingsPlan("child")
    defer { folder.remove() }
    let database = try #require(try await source.query("SELECT current_database()").scalar)
    #expect(try await CLIRunner.run(["provision", "-f", plan]).status == 0)
    // pg_dump reads the text search parsers, which Cleave itself never reads: while this session holds that
    // catalog (in this database only), the copy's pg_dump waits on it, a child stalled as after a network fault.
    try await source.execute("BEGIN; LOCK TABLE pg_catalog.pg_ts_parser IN ACCESS EXCLUSIVE MODE")
    let process = try CLIRunner.start(["copy", "-f", plan])
    let monitor = try await SerialConnection.connect(try #require(PostgresSandbox.current).connInfo())
    let dumping = """
      SELECT count(*) FROM pg_stat_activity
      WHERE datname = '\(database)' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'
      """
    let blocked = try await eventually(within: 60) { try await monitor.query(dumping).scalar == "1" }
    let activity = try await monitor.query(
      "SELECT string_agg(application_name || ':' || coalesce(wait_event_type, '-') || ':' || left(query, 60), ' | ') "
        + "FROM pg_stat_activity WHERE datname = '\(database)'"
    ).scalar
    #expect(blocked, "\(activity ?? "")")
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    let gone = try await eventually(within: 15) {
      try await monitor.query(dumping.replacingOccurrences(of: "AND wait_event_type = 'Lock'", with: "")).scalar
        == "0"
    }
    #expect(gone, "pg_dump went on after cleave was killed")
    try await source.execute("ROLLBACK")
    let again = try await CLIRunner.run(["copy", "-f", plan])
    #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
  }

  @Test func theNextRunStopsWhatAKilledRunLeftOnTheTargetAndSaysWhich() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let (plan, folder, _, database) = try await thingsPlan("leftover")
    defer { folder.remove() }
    #expect(try await CLIRunner.run(["provision", "-f", plan]).status == 0)
    // What the server still runs for a copy that was killed: a session with the copy's name, mid-statement.
    let leftover = try await SerialConnection.connect(
      sandbox.connInfo(database: database).with("application_name", "cleave copy things"))
    let pid = try #require(try await leftover.query("SELECT pg_backend_pid()").scalar)
    let statement = Task { try await leftover.execute("SELECT pg_sleep(600)") }
    let copy = try await CLIRunner.run(["copy", "-f", plan])
    #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
    let said = copy.stdout + copy.stderr
    #expect(said.contains("stopped a session an earlier, killed copy left running: pid \(pid)"), "\(said)")
    await #expect(throws: PostgresError.self) { try await statement.value }
  }

  @Test func aLiveCopyOfTheSameServiceIsNotDisturbed() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let (plan, folder, _, database) = try await thingsPlan("live")
    defer { folder.remove() }
    #expect(try await CLIRunner.run(["provision", "-f", plan]).status == 0)
    // A live copy holds the service's copy lock on its admin session.
    let live = try await SerialConnection.connect(
      sandbox.connInfo(database: database).with("application_name", "cleave copy things"))
    _ = try await live.query("SELECT pg_advisory_lock(hashtext('cleave copy things'))")
    let pid = try #require(try await live.query("SELECT pg_backend_pid()").scalar)
    let copy = try await CLIRunner.run(["copy", "-f", plan])
    #expect(copy.status == ExitStatus.copyFailed.rawValue, "\(copy.stdout)\(copy.stderr)")
    #expect(copy.stderr.contains("CLV6006") && copy.stderr.contains("pid \(pid)"), "\(copy.stderr)")
    #expect(try await live.query("SELECT 1").scalar == "1", "the live copy's session is untouched")
  }
}
