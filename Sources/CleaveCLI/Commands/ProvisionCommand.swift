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

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      var split = Split(planPath: file, environment: ProcessInfo.processInfo.environment, secretsPath: secretsPath)
      split.logger = global.makeLogger()
      let services = try await split.provision()
      print(ProvisionReport(services, secretsPath: secretsPath).text)
      SecretsWarning.check(secretsPath)
    }
  }
}
