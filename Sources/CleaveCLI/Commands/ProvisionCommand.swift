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
      var services = try await split.provision()
      if hardenOtherDatabases { services = try await harden(services) }
      print(ProvisionReport(services, secretsPath: secretsPath).text)
      SecretsWarning.check(secretsPath)
    }
  }

  /// Closes the other databases the login roles reach, with `--yes`; without it, shows what would run and stops.
  func harden(_ services: [ProvisionedService]) async throws -> [ProvisionedService] {
    let closings = try await OtherDatabases.closings(for: services)
    guard !closings.isEmpty else {
      print("no other database of the targets lets the services' login roles in")
      return services
    }
    guard yes else {
      for closing in closings {
        let lines = ["BEGIN;"] + closing.statements.split(separator: "\n").map(String.init) + ["COMMIT;"]
        print("would close \(closing.database):\n" + lines.map { "  " + $0 }.joined(separator: "\n"))
      }
      throw CleaveError(
        .confirmationRequired,
        "closing \(closings.count) other database(s) changes who may connect to them: roles created later get no "
          + "CONNECT there unless it is granted",
        hint: "read the statements above, then run `cleave provision -f \(file) --harden-other-databases --yes`")
    }
    for (closing, failure) in zip(closings, await OtherDatabases.close(closings)) {
      if let failure {
        print("warning: \(closing.database) is left open: \(failure) (only its owner or a superuser may close it)")
      } else {
        print(
          "closed \(closing.database) to PUBLIC"
            + (closing.keeping.isEmpty ? "" : "; CONNECT kept for " + closing.keeping.joined(separator: ", ")))
      }
    }
    return try await OtherDatabases.stillReachable(services)
  }
}
