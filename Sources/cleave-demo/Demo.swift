import CleaveCLI
import CleaveTestSupport
import Foundation
import PostgresDriver

/// `make demo`: a throwaway cluster with pagila in it, an application workload recorded by pg_stat_statements,
/// `cleave plan` on `demo/pagila-split.yml` (pagila split into three services), then `cleave run` (backup,
/// provision, copy, verify, config) into three new databases on the same cluster, a second run that finds
/// everything done, the HTML verify report, Spring settings, a freeze, `cleave status`, and a rollback; then the
/// catalogue moved online under pgbench writes through PgBouncer (start, verify, cutover, rollback, cutover again,
/// complete).
@main struct Demo {
  static func main() async {
    do {
      try await run()
    } catch {
      FileHandle.standardError.write(Data("demo failed: \(error)\n".utf8))
      exit(1)
    }
  }

  static func say(_ text: String) {
    print("\n==> \(text)")
    fflush(nil)  // every stream, so output keeps its order when piped
  }

  static func run() async throws {
    let plan = FileManager.default.currentDirectoryPath + "/demo/pagila-split.yml"
    guard FileManager.default.fileExists(atPath: plan) else {
      throw SandboxError("run the demo from the repository root (make demo): \(plan) is missing")
    }
    say("Starting a sandbox PostgreSQL cluster (initdb + pg_ctl on 127.0.0.1)")
    let sandbox = try await PostgresSandbox.start()
    do {
      print("    port \(sandbox.port), directory \(sandbox.directory)")
      say("Loading pagila from ../shared/datasets/pagila into database `shop`")
      let shop = try await sandbox.makeDatabase("shop")
      try await Fixtures.loadPagila(into: shop, sandbox: sandbox)
      say("Running the application's queries so pg_stat_statements records them (demo/workload.sql)")
      try await sandbox.runSQLFile(FileManager.default.currentDirectoryPath + "/demo/workload.sql", in: shop)
      try await sandbox.runSQLFile(FileManager.default.currentDirectoryPath + "/demo/workload.sql", in: shop)

      setenv("DEMO_SOURCE_URL", shop.flattened, 1)
      setenv("DEMO_TARGET_URL", sandbox.connInfo().rawValue, 1)
      say("The plan: demo/pagila-split.yml")
      print(try String(contentsOfFile: plan, encoding: .utf8))
      say("cleave plan -f demo/pagila-split.yml")
      try await CleaveCommand.runForDemo(["plan", "-f", plan])
      say("cleave init (what Cleave would propose on its own, from foreign keys and recorded queries)")
      try await CleaveCommand.runForDemo(["init", shop.flattened])
      let secrets = sandbox.directory + "/cleave-secrets.env"
      // `cleave run` keeps its backup in .cleave/ next to the plan: the plan goes into the sandbox's folder.
      let runPlan = sandbox.directory + "/cleave.yml"
      try FileManager.default.copyItem(atPath: plan, toPath: runPlan)
      say("cleave run -f cleave.yml (backup, provision, copy, verify, config; resumable)")
      try await CleaveCommand.runForDemo(["run", "-f", runPlan, "--secrets", secrets])
      say("Running it again: every step is recorded as done in the service databases, so nothing moves")
      try await CleaveCommand.runForDemo(["run", "-f", runPlan, "--secrets", secrets])
      let page = NSTemporaryDirectory() + "cleave-demo-verify.html"
      say("cleave verify -f cleave.yml --html \(page)")
      try await CleaveCommand.runForDemo(["verify", "-f", runPlan, "--html", page])
      say("cleave config -f cleave.yml --format spring (each service's settings; passwords referenced)")
      try await CleaveCommand.runForDemo(["config", "-f", runPlan, "--format", "spring"])
      say("cleave freeze -f cleave.yml (writes to the moved source tables now fail, for every role)")
      try await CleaveCommand.runForDemo(["freeze", "-f", runPlan])
      say("cleave status -f cleave.yml")
      try await CleaveCommand.runForDemo(["status", "-f", runPlan])
      say("cleave rollback -f cleave.yml --yes (remove what Cleave created, lift the freeze)")
      try await CleaveCommand.runForDemo(["rollback", "-f", runPlan, "--secrets", secrets, "--yes"])
      try await online(sandbox: sandbox, source: shop, secrets: secrets)
      print("\nThe verify report is \(page). Passwords were only ever in \(secrets) (mode 0600), never printed.")
    } catch {
      try? await sandbox.stop()
      throw error
    }
    say("Stopping the sandbox")
    try await sandbox.stop()
  }

  /// The online split of the catalogue (demo/pagila-online.yml) while pgbench writes to it through PgBouncer:
  /// check, start, status, verify, cutover, rollback, cutover again, complete.
  static func online(sandbox: PostgresSandbox, source: ConnInfo, secrets: String) async throws {
    let folder = FileManager.default.currentDirectoryPath + "/demo"
    say("Online: a PgBouncer in front of `shop` (entry `catalog`), and pgbench as the application, writing the")
    print("    catalogue through it at 50 transactions a second (demo/online-workload.sql)")
    let session = try await SerialConnection.connect(source)
    let database = try await session.query("SELECT current_database()").scalar ?? "shop"
    let stock = Int(try await session.query("SELECT count(*) FROM inventory").scalar ?? "") ?? 0
    await session.close()
    let bouncer = try await PgBouncerSandbox.start(for: sandbox, entries: ["catalog": database])
    defer { bouncer.stop() }
    setenv("DEMO_PGBOUNCER_ADMIN", bouncer.adminURL, 1)
    setenv("DEMO_PGBOUNCER_CONFIG", bouncer.databasesFile, 1)
    let plan = sandbox.directory + "/online.yml"
    try FileManager.default.copyItem(atPath: folder + "/pagila-online.yml", toPath: plan)
    let application = try Pgbench(
      database: bouncer.connInfo(entry: "catalog"),
      script: try String(contentsOfFile: folder + "/online-workload.sql", encoding: .utf8), rate: 50,
      folder: sandbox.directory)
    defer { application.stop() }
    say("The plan: demo/pagila-online.yml")
    print(try String(contentsOfFile: plan, encoding: .utf8))
    say("cleave online check -f online.yml (refusals would stop here, before anything exists)")
    try await CleaveCommand.runForDemo(["online", "check", "-f", plan])
    say("cleave online start -f online.yml --service catalog (publication, slot, seed in its snapshot, subscription)")
    try await CleaveCommand.runForDemo(["online", "start", "-f", plan, "--service", "catalog", "--secrets", secrets])
    say("cleave online status -f online.yml (lag by a heartbeat, WAL the slot holds)")
    try await CleaveCommand.runForDemo(["online", "status", "-f", plan])
    say("cleave online verify -f online.yml (while pgbench writes: only differences that persist count)")
    try await CleaveCommand.runForDemo(["online", "verify", "-f", plan])
    say("cleave online cutover -f online.yml --service catalog --steady 5 (the freeze is in the report)")
    try await CleaveCommand.runForDemo(["online", "cutover", "-f", plan, "--service", "catalog", "--steady", "5"])
    print("    PgBouncer's entry now: " + (try Self.entry(in: bouncer.databasesFile)))
    say("cleave online rollback -f online.yml --service catalog --steady 5 (back, with the writes made meanwhile)")
    try await CleaveCommand.runForDemo(["online", "rollback", "-f", plan, "--service", "catalog", "--steady", "5"])
    say("cleave online cutover again, then cleave online complete --yes (the source stays fenced)")
    try await CleaveCommand.runForDemo(["online", "cutover", "-f", plan, "--service", "catalog", "--steady", "5"])
    try await CleaveCommand.runForDemo(["online", "complete", "-f", plan, "--service", "catalog", "--yes"])
    application.stop()
    let failed = application.output.split(separator: "\n").filter {
      $0.contains("ERROR") || $0.contains("FATAL") || $0.contains("aborted") || $0.contains("failed")
    }
    let service = try await SerialConnection.connect(sandbox.connInfo(database: "catalog_live"))
    let added = (Int(try await service.query("SELECT count(*) FROM inventory").scalar ?? "") ?? 0) - stock
    await service.close()
    print(
      "\n    pgbench through all of it: \(added) copies added to the inventory (one per transaction), "
        + (failed.isEmpty ? "no failed transaction" : failed.joined(separator: "\n")))
    guard failed.isEmpty, added > 0 else {
      throw SandboxError("the application did not write through the online split without errors")
    }
  }

  /// The `catalog` line of PgBouncer's databases file.
  static func entry(in file: String) throws -> String {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("catalog") }
      .map(String.init) ?? "?"
  }
}
