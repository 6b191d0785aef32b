import ArgumentParser
import Foundation
import Provision

/// The options of the commands that make the split (`copy`, `run`): the plan, the secrets file, the parallelism.
struct SplitOptions: ParsableArguments {
  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(
    help: ArgumentHelp(
      "Where generated passwords are written (mode 0600), and read back on later runs.",
      discussion: "Default: next to the plan, named after it (cleave.yml: cleave.secrets.env)."))
  var secrets: String?

  /// `--secrets`, or the default next to the plan.
  var secretsPath: String { secrets ?? SecretsLocation.defaultPath(forPlan: file) }

  @Option(help: "Tables or key ranges copied at once (default: the number of cores).")
  var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
}
