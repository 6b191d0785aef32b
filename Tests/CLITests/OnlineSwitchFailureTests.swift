import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// What happens when a switch cannot finish (issue 14): a catch-up held back past `--max-freeze` is undone with
/// the application writing on at the source, and `kill -9` at every step of cutover and rollback leaves a state
/// the same command resumes from, never PgBouncer paused or tables fenced without a journal entry.
@Suite(.postgres, .tags(.integration)) struct OnlineSwitchFailureTests {
  @Test func aCatchUpHeldBackPastMaxFreezeIsUndone() async throws {
    try await PostgresSandbox.withCluster { try await Self.catchUpHeldBack(on: $0) }
  }

  static func catchUpHeldBack(on cluster: PostgresSandbox) async throws {
    let shop = try await OnlineFixture(
      "online_abort", on: cluster,
      extraSQL: "CREATE TABLE audit (id int PRIMARY KEY, note text); INSERT INTO audit VALUES (1, 'seed');")
    defer { shop.remove() }
    let application = try shop.application()
    defer { application.stop() }
    let start = try await CLIRunner.run(["online", "start", "-f", shop.plan])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")

    // The service database's apply is held back: a trigger there that fires in the apply worker (ENABLE ALWAYS)
    // sleeps on each update of `audit`, and a transaction the application has open through PgBouncer updates it
    // once the pause has begun; the pause waits for that transaction, and its change then takes 10 s to apply.
    let target = try await SerialConnection.connect(shop.target)
    try await target.execute(
      """
      CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(10); RETURN NEW; END $$;
      CREATE TRIGGER slow BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION slow();
      ALTER TABLE audit ENABLE ALWAYS TRIGGER slow;
      """)
    // The stream runs (its apply worker may start up to 5 s after `start`): status waits for a heartbeat.
    let running = try await CLIRunner.run(["online", "status", "-f", shop.plan])
    #expect(running.status == 0, "\(running.stdout)\(running.stderr)")
    let client = try await SerialConnection.connect(shop.bouncer.connInfo(entry: "shop"))
    try await client.execute("BEGIN; SELECT 1")
    async let cutover = CLIRunner.run(
      ["online", "cutover", "-f", shop.plan, "--service", "shop", "--steady", "0", "--max-freeze", "2"])
    let pausing = try await eventually(within: 60) { try await shop.isPaused() }
    #expect(pausing, "the cutover pauses the entry")
    try await client.execute("UPDATE audit SET note = 'held back' WHERE id = 1; COMMIT")
    let result = await (try cutover)
    #expect(result.status == ExitStatus.onlineRefused.rawValue, "\(result.stdout)\(result.stderr)")
    #expect(result.stderr.contains("error[CLVB005]"), "\(result.stderr)")
    #expect(result.stderr.contains("did not apply the source's last changes within --max-freeze"), "\(result.stderr)")

    // Undone: connections resumed, nothing fenced, streaming, no reverse stream; the application never failed.
    #expect(try await shop.isPaused() == false)
    let fences = try await shop.fences()
    #expect(fences.source == 0 && fences.target == 0, "\(fences)")
    #expect(try await shop.state() == "streaming")
    #expect(try await target.query("SELECT count(*) FROM pg_publication").scalar == "0")
    let status = try await CLIRunner.run(["online", "status", "-f", shop.plan])
    #expect(status.status == 0 && status.stdout.contains("shop: streaming"), "\(status.stdout)\(status.stderr)")
    application.stop()
    #expect(!application.output.contains("ERROR") && !application.output.contains("aborted"), "\(application.output)")
    try await shop.expectSameRows("after the undone cutover")
  }

  @Test func cutoverAndRollbackKilledAtEveryStepResumeWhenRunAgain() async throws {
    try await PostgresSandbox.withCluster { try await Self.killedSwitches(on: $0) }
  }

  static func killedSwitches(on cluster: PostgresSandbox) async throws {
    let shop = try await OnlineFixture("online_kill_switch", on: cluster)
    defer { shop.remove() }
    let application = try shop.application()
    defer { application.stop() }
    let start = try await CLIRunner.run(["online", "start", "-f", shop.plan])
    #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
    // The freeze's budget is generous here: this is about kills, and the suite's other tests share the cores.
    let fast = ["--service", "shop", "--steady", "0", "--max-freeze", "30", "--verbose"]
    let cutover = ["online", "cutover", "-f", shop.plan] + fast
    let rollback = ["online", "rollback", "-f", shop.plan] + fast
    var kills = 0
    for step in ["paused", "fenced", "applied", "reverse stream", "switched"] {
      let killed = try CLIRunner.runKilled(on: "online cutover: \(step)", cutover)
      if killed.killed { kills += 1 }
      // A journal entry stands for whatever the killed run left: paused connections, fenced tables.
      let state = try await shop.state()
      #expect(
        state == "cutting-over" || state == "cut-over", "killed at \(step): \(state ?? "no state"): \(killed.text)")
      let again = try await CLIRunner.run(cutover)
      #expect(again.status == 0, "after a kill at \(step): \(again.stdout)\(again.stderr)")
      #expect(try await shop.isPaused() == false, "after a kill at \(step)")
      #expect(try await shop.state() == "cut-over")
      let back = try await CLIRunner.run(rollback)
      let log = (try? String(contentsOfFile: shop.sandbox.serverLog, encoding: .utf8)) ?? ""
      let errors = log.split(separator: "\n").filter { $0.contains("ERROR") || $0.contains("CONTEXT") }.suffix(6)
      #expect(back.status == 0, "killed at \(step): \(back.stdout)\(back.stderr)\n\(errors.joined(separator: "\n"))")
    }
    for step in ["paused", "fenced", "applied", "forward stream", "switched"] {
      let there = try await CLIRunner.run(cutover)
      #expect(there.status == 0, "\(there.stdout)\(there.stderr)")
      let killed = try CLIRunner.runKilled(on: "online rollback: \(step)", rollback)
      if killed.killed { kills += 1 }
      let state = try await shop.state()
      #expect(
        state == "rolling-back" || state == "streaming",
        "killed at \(step) of rollback: \(state ?? "no state"): \(killed.text)")
      let again = try await CLIRunner.run(rollback)
      #expect(again.status == 0, "after a kill at \(step) of rollback: \(again.stdout)\(again.stderr)")
      #expect(try await shop.isPaused() == false, "after a kill at \(step) of rollback")
      #expect(try await shop.state() == "streaming")
      let fences = try await shop.fences()
      #expect(fences.source == 0 && fences.target == 0, "after a kill at \(step) of rollback: \(fences)")
    }
    #expect(kills >= 8, "the kills landed mid-switch")
    application.stop()
    #expect(!application.output.contains("ERROR") && !application.output.contains("aborted"), "\(application.output)")
    try await shop.expectSameRows("after every killed switch was resumed")
  }
}
