import ArgumentParser
import Foundation

/// The options of the commands that make the split (`copy`, `run`): the plan, the secrets file, the parallelism.
struct SplitOptions: ParsableArguments {
  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Where generated passwords are written (mode 0600), and read back on later runs.")
  var secrets: String = "cleave-secrets.env"

  @Option(help: "Tables or key ranges copied at once (default: the number of cores).")
  var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
}
