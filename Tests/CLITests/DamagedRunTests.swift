import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// What a run does when a server ends its sessions mid-command, or the state an earlier run recorded is damaged.
///
/// The state is what the copy recorded with the data (`_cleave.progress`) or beside the plan (the secrets file).
/// Each case ends in an error that says what happened and what to do, never exit 70 ("a bug in Cleave"), and never
/// a copy that skips or repeats rows because it trusted state that no longer holds (issue 12).
@Suite(.postgres, .tags(.integration)) struct DamagedRunTests {
  struct Setup {
    var plan: String
    var folder: TemporaryFolder
    var source: SerialConnection
    var sourceDatabase: String
    var database: String
  }

  /// A source with `things` (a serial key, so a sequence, and about 3 MB, so `--split-mb 1` cuts it into
  /// ranges), a plan moving it to a service of its own, provisioned.
  func setUp(_ name: String) async throws -> Setup {
    let split = try await #require(PostgresSandbox.current).split(
      name,
      sourceSQL: """
        CREATE TABLE things (id serial PRIMARY KEY, label text);
        INSERT INTO things (label) SELECT repeat(md5(i::text), 2) FROM generate_series(1, 30000) i;
        ANALYZE things;
        """
    ) { "things:\n  database: things_\($0)\n  tables: [public.things]" }
    let provision = try await CLIRunner.run(["provision", "-f", split.plan])
    #expect(provision.status == 0, "\(provision.stderr)")
    let source = try await SerialConnection.connect(split.source)
    let sourceDatabase = try #require(try await source.query("SELECT current_database()").scalar)
    return Setup(
      plan: split.plan, folder: split.folder, source: source, sourceDatabase: sourceDatabase,
      database: "things_\(split.suffix)")
  }

  /// Runs `arguments` while `holder` keeps a lock the command waits for; once one of its sessions on the source
  /// waits, every session of the source database but the holder's is ended, as `pg_terminate_backend`, a
  /// failover or `idle_in_transaction_session_timeout` would; then the lock goes.
  func runEndingSourceSessions(_ arguments: [String], _ setup: Setup, holder: SerialConnection) async throws
    -> CLIRunner.Output
  {
    let monitor = try await SerialConnection.connect(try #require(PostgresSandbox.current).connInfo())
    let holderPid = try #require(try await holder.query("SELECT pg_backend_pid()").scalar)
    let run = Task { try await CLIRunner.run(arguments) }
    let others = "datname = '\(setup.sourceDatabase)' AND pid <> \(holderPid)"
    let waiting = try await eventually(within: 120) {
      try await monitor.query("SELECT count(*) FROM pg_stat_activity WHERE \(others) AND wait_event_type = 'Lock'")
        .scalar != "0"
    }
    #expect(waiting, "no session of the command waited on the held lock")
    // The sessions are listed first and ended by pid: in one statement the planner may call
    // pg_terminate_backend before it filters by database, and end the sessions of every other test.
    let pids = try await monitor.query("SELECT pid FROM pg_stat_activity WHERE \(others)").rows.compactMap { $0[0] }
    #expect(!pids.isEmpty)
    for pid in pids { _ = try await monitor.query("SELECT pg_terminate_backend(\(pid))") }
    try await holder.execute("ROLLBACK")
    return try await run.value
  }

  func expectClearError(_ output: CLIRunner.Output, code: String, saying words: [String]) {
    #expect(output.status != 0 && output.status != ExitStatus.internalError.rawValue, "\(output.stderr)")
    #expect(output.stderr.contains("error[\(code)]"), "\(output.stderr)")
    #expect(!output.stderr.contains("this is a bug"), "\(output.stderr)")
    for word in words { #expect(output.stderr.contains(word), "\(output.stderr)") }
  }

  @Test func aCopyWhoseSourceSessionsAreEndedSaysSoAndTheRerunResumes() async throws {
    let setup = try await setUp("ended_copy")
    defer { setup.folder.remove() }
    // An uncommitted rename holds the sequence: the copy reads the catalog and the rows, then waits to read the
    // sequence's value in its snapshot.
    let holder = try await SerialConnection.connect(
      try #require(PostgresSandbox.current).connInfo(database: setup.sourceDatabase))
    try await holder.execute("BEGIN; ALTER SEQUENCE things_id_seq RENAME TO things_id_seq_held")
    let copy = try await runEndingSourceSessions(["copy", "-f", setup.plan], setup, holder: holder)
    expectClearError(copy, code: "CLV2004", saying: ["ended", "run the same command again"])
    let again = try await CLIRunner.run(["copy", "-f", setup.plan])
    #expect(again.status == 0, "\(again.stderr)")
    let verify = try await CLIRunner.run(["verify", "-f", setup.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
  }

  @Test func aVerifyWhoseSourceSessionIsEndedSaysSo() async throws {
    let setup = try await setUp("ended_verify")
    defer { setup.folder.remove() }
    #expect(try await CLIRunner.run(["copy", "-f", setup.plan]).status == 0)
    let holder = try await SerialConnection.connect(
      try #require(PostgresSandbox.current).connInfo(database: setup.sourceDatabase))
    try await holder.execute("BEGIN; LOCK TABLE things IN ACCESS EXCLUSIVE MODE")
    let verify = try await runEndingSourceSessions(["verify", "-f", setup.plan], setup, holder: holder)
    expectClearError(verify, code: "CLV2004", saying: ["ended", "run the same command again"])
    let again = try await CLIRunner.run(["verify", "-f", setup.plan])
    #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
  }

  /// Each way `_cleave.progress` can be damaged after a copy split `things` into ranges: the next copy stops
  /// before it moves a row, names the table and the step, and `--recopy` is the way out.
  @Test(arguments: [
    ("ranges that are not numbers", "UPDATE _cleave.progress SET detail = 'ten,twenty' WHERE step LIKE 'split %'"),
    ("ranges out of order", "UPDATE _cleave.progress SET detail = '20000,10000' WHERE step LIKE 'split %'"),
    (
      "ranges that disagree with the finished ones",
      "UPDATE _cleave.progress SET detail = split_part(detail, ',', 1) WHERE step LIKE 'split %'"
    ),
    ("the recorded shape gone", "DELETE FROM _cleave.progress WHERE step = 'source schema'"),
    ("a column of the table gone", "ALTER TABLE _cleave.progress DROP COLUMN detail"),
    ("the table replaced", "DROP TABLE _cleave.progress; CREATE TABLE _cleave.progress (step int)"),
  ])
  func aDamagedProgressTableStopsTheCopy(damage: String, statement: String) async throws {
    let setup = try await setUp("damaged_progress")
    defer { setup.folder.remove() }
    let arguments = ["copy", "-f", setup.plan, "--split-mb", "1"]
    let first = try await CLIRunner.run(arguments)
    #expect(first.status == 0, "\(first.stderr)")
    let target = try await SerialConnection.connect(
      try #require(PostgresSandbox.current).connInfo(database: setup.database))
    let ranges = try await target.query("SELECT count(*) FROM _cleave.progress WHERE step LIKE 'data public.things %'")
    #expect(Int(ranges.scalar ?? "") ?? 0 >= 3, "the copy did not split the table, so the damage tests nothing")
    try await target.execute(statement)
    let again = try await CLIRunner.run(arguments)
    expectClearError(again, code: "CLV6007", saying: ["_cleave.progress", "--recopy things"])
    #expect(again.status == ExitStatus.copyFailed.rawValue, "\(damage)")
    let recopy = try await CLIRunner.run(arguments + ["--recopy", "things"])
    #expect(recopy.status == 0, "\(damage): \(recopy.stderr)")
    let verify = try await CLIRunner.run(["verify", "-f", setup.plan])
    #expect(verify.status == 0, "\(damage): \(verify.stdout)\(verify.stderr)")
  }

  /// A secrets file cut short, overwritten with bytes that are not text, or with a password changed, is reported
  /// as what it is.
  @Test(arguments: [
    ("bytes that are not text", Data([0xff, 0xfe, 0x00, 0x41, 0x3d, 0xc3])),
    ("an empty file", Data()),
    ("a line with no value", Data("THINGS_OWNER_PASSWORD\n".utf8)),
  ])
  func aDamagedSecretsFileIsNamed(damage: String, content: Data) async throws {
    let setup = try await setUp("damaged_secrets")
    defer { setup.folder.remove() }
    let secrets = setup.folder.path + "/cleave.secrets.env"
    #expect(FileManager.default.fileExists(atPath: secrets), "provision wrote no secrets file at \(secrets)")
    try content.write(to: URL(fileURLWithPath: secrets))
    let copy = try await CLIRunner.run(["copy", "-f", setup.plan])
    #expect(copy.status != 0 && copy.status != ExitStatus.internalError.rawValue, "\(damage): \(copy.stderr)")
    #expect(copy.stderr.contains("secrets") && !copy.stderr.contains("this is a bug"), "\(damage): \(copy.stderr)")
  }
}
