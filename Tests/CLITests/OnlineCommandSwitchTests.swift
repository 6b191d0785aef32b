import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The plan's `switch: command:` (issue 14), a program of the user's own run once per phase.
///
/// It gets `CLEAVE_SERVICE`, `CLEAVE_PHASE` and `CLEAVE_DATABASE_URL`; here it drives PgBouncer itself, as a deploy
/// script would. Cutover and rollback run its phases in order under pgbench writes with no failed transaction, and a
/// command that fails in its `switch` phase has the cutover undone with `abort`.
@Suite(.postgres, .tags(.integration)) struct OnlineCommandSwitchTests {
  @Test func aCommandOfTheUsersOwnSwitchesTheApplication() async throws {
    try await PostgresSandbox.withCluster { try await Self.commandSwitch(on: $0) }
  }

  static func commandSwitch(on cluster: PostgresSandbox) async throws {
    let shop = try await OnlineFixture("online_command", on: cluster) { folder in
      "    command: \(folder)/switch.sh"
    }
    defer { shop.remove() }
    let log = shop.folder.path + "/phases.log"
    let failSwitch = shop.folder.path + "/fail-switch"
    // The user's script: log the phase, then pause, repoint (the entry's line) and reload, or resume PgBouncer.
    let script = """
      #!/bin/sh
      set -e
      echo "$CLEAVE_SERVICE $CLEAVE_PHASE $CLEAVE_DATABASE_URL" >> '\(log)'
      admin='\(shop.bouncer.adminURL)'
      case "$CLEAVE_PHASE" in
        pause) psql -X -q "$admin" -c 'PAUSE shop' ;;
        switch)
          rest=${CLEAVE_DATABASE_URL#postgresql://}
          hostport=${rest%%/*}
          db=${rest#*/}
          [ ! -e '\(failSwitch)' ] || [ "$db" != '\(shop.service)' ] || exit 3
          sed -i "s|^shop = .*|shop = host=${hostport%:*} port=${hostport##*:} dbname=$db|" '\(shop.bouncer.databasesFile)'
          psql -X -q "$admin" -c 'RELOAD' ;;
        resume|abort) psql -X -q "$admin" -c 'RESUME shop' 2>/dev/null || true ;;
      esac
      """
    try script.write(toFile: shop.folder.path + "/switch.sh", atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shop.folder.path + "/switch.sh")
    func phases() -> [String] {
      ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    let application = try shop.application()
    defer { application.stop() }
    let start = try await CLIRunner.run(["online", "start", "-f", shop.plan])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
    let cutover = try await CLIRunner.run(["online", "cutover", "-f", shop.plan, "--service", "shop", "--steady", "1"])
    #expect(cutover.status == 0, "\(cutover.stdout)\(cutover.stderr)")
    let serviceURL = "postgresql://127.0.0.1:\(cluster.port)/\(shop.service)"
    let sourceURL = "postgresql://127.0.0.1:\(cluster.port)/\(shop.sourceName)"
    #expect(
      phases() == ["shop pause \(serviceURL)", "shop switch \(serviceURL)", "shop resume \(serviceURL)"],
      "\(phases())")
    #expect(try await shop.state() == "cut-over")
    let target = try await SerialConnection.connect(shop.target)
    defer { Task { await target.close() } }
    let before = try #require(try await target.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) })
    #expect(
      try await eventually(within: 30) {
        try await target.query("SELECT max(id) FROM orders").scalar.flatMap { Int($0) } ?? 0 > before + 50
      }, "the application writes to the service database through the command's switch")

    let rollback = try await CLIRunner.run(
      ["online", "rollback", "-f", shop.plan, "--service", "shop", "--steady", "1"])
    #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
    #expect(
      Array(phases().suffix(3)) == [
        "shop pause \(sourceURL)", "shop switch \(sourceURL)", "shop resume \(sourceURL)",
      ], "\(phases())")
    #expect(try await shop.state() == "streaming")

    // The command fails in its switch phase: the cutover is undone, the command points the application back and
    // its abort phase resumes.
    FileManager.default.createFile(atPath: failSwitch, contents: nil)
    let failed = try await CLIRunner.run(["online", "cutover", "-f", shop.plan, "--service", "shop", "--steady", "1"])
    #expect(failed.status == ExitStatus.onlineRefused.rawValue, "\(failed.stdout)\(failed.stderr)")
    #expect(failed.stderr.contains("error[CLVB005]"), "\(failed.stderr)")
    #expect(failed.stderr.contains("exited 3 in phase switch"), "\(failed.stderr)")
    #expect(
      Array(phases().suffix(4)) == [
        "shop pause \(serviceURL)", "shop switch \(serviceURL)", "shop switch \(sourceURL)", "shop abort \(sourceURL)",
      ], "\(phases())")
    #expect(try await shop.state() == "streaming")
    #expect(try await shop.fences() == (0, 0))
    #expect(try await !shop.isPaused())
    application.stop()
    #expect(
      !application.output.contains("ERROR") && !application.output.contains("aborted"), "\(application.output)")
    try await shop.expectSameRows("after a cutover, a rollback and an undone cutover through a command")
  }
}
