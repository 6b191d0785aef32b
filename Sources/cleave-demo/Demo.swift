import CleaveCLI
import CleaveTestSupport
import Foundation

/// `make demo`: a throwaway cluster with pagila in it, an application workload recorded by pg_stat_statements,
/// `cleave plan` on `demo/pagila-split.yml` (pagila split into three services), then `cleave run` (backup,
/// provision, copy, verify, config) into three new databases on the same cluster, a second run that finds
/// everything done, the HTML verify report, Spring settings, a freeze, `cleave status`, and a rollback.
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
      print("\nThe verify report is \(page). Passwords were only ever in \(secrets) (mode 0600), never printed.")
    } catch {
      try? await sandbox.stop()
      throw error
    }
    say("Stopping the sandbox")
    try await sandbox.stop()
  }
}
