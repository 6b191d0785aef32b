import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave config` through the binary: files under --out, secrets only inline into 0600 files, and the
/// connection budget's warning.
@Suite(.postgres, .tags(.integration)) struct ConfigCLITests {
  @Test func inlineSecretsGoOnlyIntoPrivateFilesAndAnOverrunIsAWarning() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("config_cli")
    try await SerialConnection.connect(source).execute("CREATE TABLE things (id int PRIMARY KEY)")
    let temporary = try TemporaryFolder("config-cli")
    defer { temporary.remove() }
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        things_\(temporary.suffix):
          database: things_\(temporary.suffix)
          tables: [things]
          pool_size: 400
          replicas: 2
        """)
    let secrets = temporary.path + "/secrets.env"
    #expect(try await CLIRunner.run(["provision", "-f", plan, "--secrets", secrets]).status == 0)

    let refused = try await CLIRunner.run(["config", "-f", plan, "--inline-secrets", "--secrets", secrets])
    #expect(refused.status == ExitStatus.usage.rawValue, "inline secrets never go to standard output")

    let out = temporary.path + "/config"
    let written = try await CLIRunner.run([
      "config", "-f", plan, "--format", "env", "--out", out, "--inline-secrets", "--secrets", secrets,
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let attributes = try FileManager.default.attributesOfItem(atPath: out + "/.env")
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    #expect(written.stderr.contains("warning: target \"main\": the services' pools need 800 connections"))

    // Its own file is replaced by a second run; a team's own 0600 file in the way is not, without --force.
    let again = try await CLIRunner.run([
      "config", "-f", plan, "--format", "env", "--out", out, "--inline-secrets", "--secrets", secrets,
    ])
    #expect(again.status == 0, "\(again.stderr)")
    let mine = temporary.path + "/mine"
    try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
    let teamFile = "STRIPE_KEY=sk_live_team_secret\n"
    _ = FileManager.default.createFile(
      atPath: mine + "/.env", contents: Data(teamFile.utf8), attributes: [.posixPermissions: 0o600])
    let blocked = try await CLIRunner.run(["config", "-f", plan, "--format", "env", "--out", mine])
    #expect(blocked.status == ExitStatus.safetyStepFailed.rawValue, "\(blocked.stderr)")
    #expect(blocked.stderr.contains("--force") && blocked.stderr.contains("not written by `cleave config`"))
    #expect(try String(contentsOfFile: mine + "/.env", encoding: .utf8) == teamFile, "the team's file is untouched")
    let forced = try await CLIRunner.run(["config", "-f", plan, "--format", "env", "--out", mine, "--force"])
    let replaced = try String(contentsOfFile: mine + "/.env", encoding: .utf8)
    #expect(forced.status == 0 && !replaced.contains("STRIPE"), "\(forced.stderr)")

    let referenced = try await CLIRunner.run(["config", "-f", plan, "--format", "spring", "--out", out])
    #expect(referenced.status == 0)
    let spring = try String(contentsOfFile: out + "/things_\(temporary.suffix)/application.yml", encoding: .utf8)
    #expect(spring.contains("password: \"${THINGS_\(temporary.suffix.uppercased())_DB_PASSWORD}\""))
    let key = "THINGS_\(temporary.suffix.uppercased())_DB_PASSWORD="
    let line = try #require(
      try String(contentsOfFile: secrets, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix(key) })
    let password = String(line.dropFirst(key.count)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
    #expect(password.count == 32 && !spring.contains(password))
    #expect(try String(contentsOfFile: out + "/.env", encoding: .utf8).contains(password))
  }
}
