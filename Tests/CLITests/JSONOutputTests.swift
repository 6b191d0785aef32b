import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// Output contracts: every command that takes `--format json` prints one JSON document on standard output,
/// whatever it did (issue 13: `init`, `provision`, `unfreeze` and `migrate new` accepted the option and printed
/// text), and the text tables keep their columns apart.
@Suite(.postgres, .tags(.integration)) struct JSONOutputTests {
  @Test func everyCommandThatTakesFormatJSONPrintsJSON() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split(
      "json_out",
      sourceSQL: """
        CREATE TABLE things (id int PRIMARY KEY, label text);
        INSERT INTO things SELECT i, 'thing ' || i FROM generate_series(1, 20) i;
        """
    ) { "things:\n  database: things_\($0)\n  tables: [public.things]\n  migrations: migrations/things" }
    defer { split.folder.remove() }
    let plan = ["-f", split.plan]
    let commands: [[String]] = [
      ["inspect", split.source.flattened], ["init", split.source.flattened], ["plan"] + plan,
      ["provision"] + plan, ["copy"] + plan, ["verify"] + plan, ["status"] + plan,
      ["backup", "--dir", split.folder.path + "/backup"] + plan, ["freeze"] + plan, ["unfreeze"] + plan,
      ["migrate", "baseline"] + plan, ["migrate", "new", "add_note", "--service", "things"] + plan,
      ["migrate", "lint"] + plan, ["migrate", "deploy", "--dry-run"] + plan, ["migrate", "deploy"] + plan,
      ["migrate", "status"] + plan, ["migrate", "drift"] + plan, ["online", "check"] + plan,
      ["online", "start"] + plan, ["online", "status"] + plan,
      ["online", "cancel", "--service", "things", "--yes"] + plan,
    ]
    for command in commands {
      if command.starts(with: ["migrate", "lint"]) {
        // The migration `migrate new` made, given a statement (with a lock_timeout, so lint has nothing to say).
        let folder = split.folder.path + "/migrations/things"
        let newest = try #require(
          try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix("_add_note") }.first)
        try "SET lock_timeout = '5s';\nALTER TABLE things ADD COLUMN note text;\n".write(
          toFile: "\(folder)/\(newest)/migration.sql", atomically: true, encoding: .utf8)
      }
      let run = try await CLIRunner.run(command + ["--format", "json"])
      let what = command.prefix(2).joined(separator: " ")
      #expect(!run.stdout.contains("seeding from slot"), "\(what): progress in JSON output")
      #expect(run.status == 0, "\(what): \(run.stderr)")
      let parsed = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8), options: [.fragmentsAllowed])
      #expect(
        parsed is [String: Any] || parsed is [Any], "\(what) printed no JSON document:\n\(run.stdout.prefix(300))")
    }
  }

  /// A table name longer than any column's usual width is followed by two spaces in inspect, plan and copy, never
  /// run into the next column (issue 13).
  @Test func aLongTableNameNeverRunsIntoTheNextColumn() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let long = "a_table_whose_name_is_far_longer_than_the_columns_shown_in"
    let split = try await sandbox.split(
      "long_names", sourceSQL: "CREATE TABLE \(long) (id int PRIMARY KEY); INSERT INTO \(long) VALUES (1)"
    ) { "things:\n  database: things_\($0)\n  tables: [public.\(long)]" }
    defer { split.folder.remove() }
    for command in [["inspect", split.source.flattened], ["plan", "-f", split.plan], ["copy", "-f", split.plan]] {
      let run = try await CLIRunner.run(command)
      #expect(run.status == 0, "\(run.stderr)")
      let lines = run.stdout.split(separator: "\n").filter { $0.contains(long) && !$0.contains("->") }
      #expect(!lines.isEmpty, "\(command[0]) does not show the table:\n\(run.stdout)")
      for line in lines {
        let after = line[line.range(of: long)!.upperBound...]
        #expect(after.isEmpty || after.hasPrefix("  "), "\(command[0]): \(line)")
      }
    }
  }
}
