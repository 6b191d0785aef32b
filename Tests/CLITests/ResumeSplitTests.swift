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

  /// A changed row filter recopies that table's ranges only: not those of a table whose name matches it with `_`
  /// read as a wildcard (`t_x` and `tax`), which were once forgotten with it and copied twice.
  @Test func aChangedFilterRecopiesOnlyItsOwnTable() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let sourceInfo = try await sandbox.makeDatabase("likeness_src")
    let source = try await SerialConnection.connect(sourceInfo)
    try await source.execute(
      """
      CREATE TABLE t_x (id serial PRIMARY KEY, label text);
      CREATE TABLE tax (id serial PRIMARY KEY, label text);
      INSERT INTO t_x (label) SELECT repeat(md5(i::text), 2) FROM generate_series(1, 30000) i;
      INSERT INTO tax (label) SELECT repeat(md5(i::text), 2) FROM generate_series(1, 30000) i;
      ANALYZE;
      """)
    let folder = try TemporaryFolder("likeness")
    defer { folder.remove() }
    let database = "likeness_\(folder.suffix)"
    func plan(_ filter: String) throws -> String {
      try folder.writePlan(
        source: sourceInfo.flattened, target: sandbox.connInfo().rawValue,
        services: """
          things:
            database: \(database)
            tables: [public.t_x, public.tax]
            transforms:
              public.t_x:
                where: \(filter)
          """)
    }
    let first = try await CLIRunner.run(["copy", "-f", try plan("id > 10"), "--split-mb", "1"])
    #expect(first.status == 0, "\(first.stderr)")
    // The second run recopies t_x; the third finds everything done, as the progress table must say.
    for run in 2...3 {
      let again = try await CLIRunner.run(["copy", "-f", try plan("id > 20"), "--split-mb", "1"])
      #expect(again.status == 0, "run \(run): \(again.stderr)")
    }
    let target = try await SerialConnection.connect(sandbox.connInfo(database: database))
    #expect(try await target.query("SELECT count(*) FROM t_x").scalar == "29980")
    #expect(try await target.query("SELECT count(*), count(DISTINCT id) FROM tax").rows.first == ["30000", "30000"])
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
