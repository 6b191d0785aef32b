import CleaveCLI
import CleaveTestSupport
import Foundation

/// `make demo`: a throwaway cluster with pagila in it, an application workload recorded by pg_stat_statements,
/// `cleave plan` on `demo/pagila-split.yml` (pagila split into three services), then `cleave copy` into three
/// new databases on the same cluster, and a second copy that finds everything done.
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
      say("cleave copy -f demo/pagila-split.yml (provision databases and roles, then copy from one snapshot)")
      try await CleaveCommand.runForDemo([
        "copy", "-f", plan, "--secrets", secrets, "--work-dir", sandbox.directory + "/work",
      ])
      say("Running it again resumes: everything is done already, so nothing moves")
      try await CleaveCommand.runForDemo([
        "copy", "-f", plan, "--secrets", secrets, "--work-dir", sandbox.directory + "/work",
      ])
      say("cleave verify -f demo/pagila-split.yml (every table against the plan's projection of the source)")
      try await CleaveCommand.runForDemo(["verify", "-f", plan])
      print("\nPasswords of the new roles are in \(secrets) (mode 0600); they are never printed.")
    } catch {
      try? await sandbox.stop()
      throw error
    }
    say("Stopping the sandbox")
    try await sandbox.stop()
  }
}
