import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// A copy resumed with another `--split-mb` than the run that was killed: the ranges the first run recorded are
/// used as they are, so no row is copied twice (issue 11, failure 3).
@Suite(.postgres, .tags(.integration)) struct ResumeSplitTests {
  @Test func aResumeWithAnotherSplitSizeCopiesEveryRowOnce() async throws {
    let setup = try await setUp("resplit", rows: 120000)
    defer { setup.folder.remove() }
    let (source, target, environment, base) = (setup.source, setup.target, setup.environment, setup.copy)

    // Killed as soon as the first of its 1 MiB ranges is reported finished.
    let killed = try CLIRunner.runKilled(on: " done)", base + ["--split-mb", "1"], environment: environment)
    try #require(killed.killed, "the copy ended before the kill: \(killed.text)")

    let inside = try await SerialConnection.connect(target)
    try #require(
      try await inside.query("SELECT to_regclass('_cleave.progress') IS NOT NULL").scalar == "t",
      "the kill landed before the copy started: \(killed.text)")
    let rangesDone =
      Int(
        try await inside.query("SELECT count(*) FROM _cleave.progress WHERE step LIKE 'data public.events %'").scalar
          ?? "0") ?? 0
    let total =
      Int(
        try await inside.query("SELECT count(*) FROM _cleave.progress WHERE step = 'split public.events'").scalar
          ?? "0") ?? 0
    await inside.close()
    #expect(total == 1, "the killed run recorded no ranges: \(killed.text)")
    #expect(rangesDone >= 1, "the kill landed before any range was finished")

    // Resumed with the default split size (the table is far below 256 MiB), then once more with a tiny one.
    for extra in [[String](), ["--split-mb", "1"]] {
      let again = try await CLIRunner.run(base + extra, environment: environment)
      #expect(again.status == 0, "\(again.stderr)")
      let query = "SELECT * FROM events"
      #expect(
        try await Fixtures.fingerprint(query, in: target) == Fixtures.fingerprint(query, in: source),
        "events differs after a resume with \(extra)")
    }
    let check = try await SerialConnection.connect(target)
    let rows = try await check.query("SELECT count(*), count(DISTINCT id) FROM events").rows.first
    #expect(rows?[0] == "120000" && rows?[1] == "120000")
    await check.close()
  }

  /// A table copied whole keeps its one finished step when the next run asks for ranges.
  @Test func aTableCopiedWholeIsNotSplitLater() async throws {
    let setup = try await setUp("whole", rows: 60000)
    defer { setup.folder.remove() }
    let (target, environment, base) = (setup.target, setup.environment, setup.copy)
    let first = try await CLIRunner.run(base, environment: environment)
    #expect(first.status == 0, "\(first.stderr)")
    let second = try await CLIRunner.run(base + ["--split-mb", "1"], environment: environment)
    #expect(second.status == 0, "\(second.stderr)")
    let check = try await SerialConnection.connect(target)
    #expect(try await check.query("SELECT count(*) FROM events").scalar == "60000")
    #expect(
      try await check.query("SELECT count(*) FROM _cleave.progress WHERE step LIKE 'data public.events %'").scalar
        == "0")
    await check.close()
  }

  /// A source with one `events` table of `rows` rows, a plan moving it to its own service, and the copy command.
  struct Setup {
    var source: ConnInfo
    var target: ConnInfo
    var environment: [String: String]
    var copy: [String]
    var folder: TemporaryFolder
  }

  func setUp(_ name: String, rows: Int) async throws -> Setup {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase(name + "_src")
    let setup = try await SerialConnection.connect(source)
    try await setup.execute(
      """
      CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL);
      INSERT INTO events SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, \(rows)) i;
      ANALYZE;
      """)
    await setup.close()
    let temporary = try TemporaryFolder(name)
    let database = "\(name)_\(temporary.suffix)"
    let plan = try temporary.writePlan(
      source: "${SRC}", target: "${DST}",
      services: """
        \(database):
          database: \(database)
          tables: [public.events]
        """)
    return Setup(
      source: source, target: sandbox.connInfo(database: database),
      environment: ["SRC": source.flattened, "DST": sandbox.connInfo().rawValue],
      copy: ["copy", "-f", plan, "--secrets", temporary.path + "/secrets.env", "--jobs", "1"], folder: temporary)
  }
}
