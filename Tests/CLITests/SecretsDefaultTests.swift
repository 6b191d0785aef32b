import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The secrets file goes next to the plan by default, with mode 0600, a warning when git would pick it up, and it
/// is never overwritten when Cleave did not write it for this plan (issue 11, failure 8).
@Suite(.postgres, .tags(.integration)) struct SecretsDefaultTests {
  /// A source with one table, and a plan in a folder of its own moving it to service `things`.
  func thingsPlan(_ name: String) async throws -> (plan: String, folder: TemporaryFolder) {
    let split = try await #require(PostgresSandbox.current).split(
      name, sourceSQL: "CREATE TABLE things (id int PRIMARY KEY)"
    ) { "things:\n  database: things_\($0)\n  tables: [things]" }
    return (split.plan, split.folder)
  }

  @Test func secretsGoNextToThePlanNeverIntoTheWorkingFolder() async throws {
    let (plan, folder) = try await thingsPlan("secrets")
    defer { folder.remove() }
    // The plan's folder is a git work tree that does not ignore the file yet.
    let git = try await ToolRunner.run("git", ["init", "-q", folder.path])
    try #require(git.succeeded, "git init: \(git.standardError)")
    let workingFolder = FileManager.default.currentDirectoryPath
    let before = Set(try FileManager.default.contentsOfDirectory(atPath: workingFolder))

    let provision = try await CLIRunner.run(["provision", "-f", plan])
    #expect(provision.status == 0, "\(provision.stderr)")
    let secrets = folder.path + "/cleave.secrets.env"
    let attributes = try FileManager.default.attributesOfItem(atPath: secrets)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    #expect(try String(contentsOfFile: secrets, encoding: .utf8).contains("THINGS_\(folder.suffix.uppercased())_APP"))
    #expect(Set(try FileManager.default.contentsOfDirectory(atPath: workingFolder)) == before)
    #expect(provision.stderr.contains("warning: the secrets file \(secrets) is inside a git work tree"))

    try "*.secrets.env\n".write(toFile: folder.path + "/.gitignore", atomically: true, encoding: .utf8)
    let again = try await CLIRunner.run(["provision", "-f", plan])
    #expect(again.status == 0 && !again.stderr.contains("warning"), "\(again.stderr)")
  }

  @Test func aFileCleaveDidNotWriteIsNeverOverwritten() async throws {
    let (plan, folder) = try await thingsPlan("foreign")
    defer { folder.remove() }
    let foreign = folder.path + "/team.env"
    try "API_TOKEN=keep-me\n".write(toFile: foreign, atomically: true, encoding: .utf8)
    chmod(foreign, 0o600)
    let provision = try await CLIRunner.run(["provision", "-f", plan, "--secrets", foreign])
    #expect(provision.status != 0)
    #expect(provision.stderr.contains("Cleave did not write it"), "\(provision.stderr)")
    #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "API_TOKEN=keep-me\n")
  }

  /// A password from the plan's environment holding shell syntax is written so that `set -a; . file` reads it
  /// back exactly and runs nothing; one that no secrets file can hold for both a shell and a dotenv parser (a
  /// single quote, a line break) is refused before any role exists (issue 12).
  @Test func hostilePasswordsAreReadBackExactlyOrRefused() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("hostile_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let folder = try TemporaryFolder("hostile")
    defer { folder.remove() }
    let marker = folder.path + "/ran"
    let hostile = "a$(touch \(marker))b`touch \(marker)`$$ \"q\" \\n #x ${HOME} ;|&"
    /// A plan in `folder` whose application role's password comes from `HOSTILE_PW`.
    func passwordPlan(_ folder: TemporaryFolder) throws -> String {
      try folder.writePlan(
        source: source.flattened, target: sandbox.connInfo().rawValue,
        services: """
          things:
            database: things_\(folder.suffix)
            tables: [things]
            app_password: ${HOSTILE_PW}
          """)
    }
    let plan = try passwordPlan(folder)
    let provision = try await CLIRunner.run(["provision", "-f", plan], environment: ["HOSTILE_PW": hostile])
    #expect(provision.status == 0, "\(provision.stderr)")
    let secrets = folder.path + "/cleave.secrets.env"
    let key = "THINGS_\(folder.suffix.uppercased())_APP_PASSWORD"
    let shell = try await ToolRunner.run(
      "/bin/sh", ["-c", "set -a; . \"$1\"; printf '%s' \"$\(key)\"", "sh", secrets])
    #expect(shell.succeeded, "\(shell.standardError)")
    #expect(shell.standardOutput == hostile, "the shell read back \(shell.standardOutput)")
    #expect(!FileManager.default.fileExists(atPath: marker), "sourcing the secrets file ran a command")

    for refused in ["it's", "two\nlines"] {
      let other = try TemporaryFolder("refused")
      defer { other.remove() }
      let otherPlan = try passwordPlan(other)
      let result = try await CLIRunner.run(["provision", "-f", otherPlan], environment: ["HOSTILE_PW": refused])
      #expect(result.status != 0 && result.stderr.contains("single quote or a line break"), "\(result.stderr)")
      let roles = try await SerialConnection.connect(sandbox.connInfo()).query(
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", ["things_\(other.suffix)%"]
      ).scalar
      #expect(roles == "0", "a refused password leaves no role behind")
    }
  }

  /// Every command that reads the plan, given a malformed source string with a password in it, says what is
  /// wrong without showing any piece of the password, and exits with a clear error, never 70.
  @Test func malformedSourceStringsNeverShowTheirSecret() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let folder = try TemporaryFolder("malformed")
    let plan = try folder.writePlan(
      source: "${CLEAVE_TEST_SOURCE}", target: sandbox.url(),
      services: "things:\n  database: things_db\n  tables: [public.things]")
    for source in SecretCorpus.strings(port: sandbox.port) {
      for command: [String] in [["plan"], ["verify"]] {
        let run = try await CLIRunner.run(command + ["-f", plan], environment: ["CLEAVE_TEST_SOURCE": source])
        #expect(run.status != 0 && run.status != 70, "\(command) exited \(run.status): \(run.stderr)")
        #expect(!SecretCorpus.leaks(run.stdout + run.stderr), "\(command): \(run.stdout)\(run.stderr)")
      }
    }
  }
}
