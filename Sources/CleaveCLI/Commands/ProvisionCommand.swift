import ArgumentParser
import CleaveCore
import Copy
import Foundation
import Provision
import Report

/// `cleave provision -f cleave.yml`: each service's database and roles, with least privilege.
struct ProvisionCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "provision",
    abstract: "Create each service's database and its owner and application roles on its target.",
    discussion: "Running it again changes nothing. Passwords go to the secrets file only (mode 0600).")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(
    help:
      "Where generated passwords are written (mode 0600), and read back on later runs (default: next to the plan, cleave.yml: cleave.secrets.env)"
  )
  var secrets: String?

  /// `--secrets`, or the default next to the plan.
  var secretsPath: String { secrets ?? SecretsLocation.defaultPath(forPlan: file) }

  @Flag(
    help: """
      Also close the other databases of each target (postgres, template1, unrelated ones) to the services' login \
      roles: revoke CONNECT from PUBLIC, after granting it to every other login role that has it. Needs --yes.
      """)
  var hardenOtherDatabases = false

  @Flag(help: "Confirm --harden-other-databases; without it the statements are shown and nothing changes.")
  var yes = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      var split = Split(planPath: file, environment: ProcessInfo.processInfo.environment, secretsPath: secretsPath)
      split.logger = global.makeLogger()
      let services = try await split.provision()
      var report = ProvisionReport(services, secretsPath: secretsPath)
      if hardenOtherDatabases { report = try await harden(report) }
      print(report.rendered(as: global.format))
      SecretsWarning.check(secretsPath)
    }
  }

  /// Closes the other databases the login roles reach, with `--yes`; without it, shows what would run and stops.
  func harden(_ report: ProvisionReport) async throws -> ProvisionReport {
    let closings = try await OtherDatabases.closings(for: report.services)
    guard !closings.isEmpty else { return report }
    guard yes else {
      struct WouldClose: Encodable {
        var database: String
        var statements: [String]
      }
      let wouldClose = closings.map {
        WouldClose(
          database: $0.database,
          statements: ["BEGIN;"] + $0.statements.split(separator: "\n").map(String.init) + ["COMMIT;"])
      }
      if global.format == .json {
        print(JSONRendering.render(["wouldClose": wouldClose]))
      } else {
        for closing in wouldClose {
          print("would close \(closing.database):\n" + closing.statements.map { "  " + $0 }.joined(separator: "\n"))
        }
      }
      throw CleaveError(
        .confirmationRequired,
        "closing \(closings.count) other database(s) changes who may connect to them: roles created later get no "
          + "CONNECT there unless it is granted",
        hint: "read the statements above, then run `cleave provision -f \(file) --harden-other-databases --yes`")
    }
    let failures = await OtherDatabases.close(closings)
    // Read again after closing, so the report says what is still open.
    var hardened = ProvisionReport(
      try await OtherDatabases.stillReachable(report.services), secretsPath: report.secretsPath)
    hardened.otherDatabases = zip(closings, failures).map { closing, failure in
      .init(database: closing.database, closed: failure == nil, keeping: closing.keeping, reason: failure)
    }
    return hardened
  }
}
