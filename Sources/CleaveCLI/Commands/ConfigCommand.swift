import ArgumentParser
import CleaveCore
import Config
import Foundation
import Plan
import Provision

extension ConfigFormat: ExpressibleByArgument {}

/// `cleave config -f cleave.yml --format env|spring|prisma|compose [--out DIR]`: each service's connection
/// settings in the forms services use, and a check of the connections each target server must accept.
struct ConfigCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config",
    abstract: "Write each service's connection settings (.env, Spring, Prisma, docker compose).",
    discussion: """
      Passwords are referenced as ${<SERVICE>_DB_PASSWORD} (the secrets file provision wrote has them under that
      name), unless --inline-secrets, which writes them into files of mode 0600 under --out only. The services'
      pools (pool_size x replicas in the plan) are added up per target server and compared with its
      max_connections; an overrun is a warning on standard error.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "The form: env, spring, prisma or compose.")
  var format: ConfigFormat = .env

  @Option(help: "Write the files into this folder instead of printing them.")
  var out: String?

  @Flag(help: "Write the login roles' passwords into the files (mode 0600; needs --out).")
  var inlineSecrets = false

  @Flag(help: "Replace files under --out that `cleave config` did not write (it replaces its own anyway).")
  var force = false

  @Option(
    help:
      "The secrets file provision wrote, read with --inline-secrets (default: next to the plan, cleave.yml: cleave.secrets.env)"
  )
  var secrets: String?

  /// `--secrets`, or the default next to the plan.
  var secretsPath: String { secrets ?? SecretsLocation.defaultPath(forPlan: file) }

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if inlineSecrets && out == nil {
      throw ValidationError("--inline-secrets writes passwords only into files: give --out DIR")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let plan = try PlanDecoder.load(path: file, environment: ProcessInfo.processInfo.environment)
      let rendered = try await logging.makeLogger().step("config: \(format.rawValue) settings and connection budget") {
        try await ConfigOutput(plan: plan, secretsPath: secretsPath, inlineSecrets: inlineSecrets).render(format)
      }
      for warning in rendered.warnings { Self.warn(warning) }
      let files = rendered.files
      guard let out else {
        print(
          files.count == 1
            ? files[0].content
            : files.map { "# ==> \($0.path) <==\n\($0.content)" }.joined(separator: "\n"), terminator: "")
        return
      }
      let paths = try ConfigOutput.write(files, to: out, force: force)
      for (file, path) in zip(files, paths) { print(path + (file.secret ? " (mode 0600: holds passwords)" : "")) }
      await ConfigRecord.record(planFile: plan, directory: out, format: format)
    }
  }

  static func warn(_ text: String) { FileHandle.standardError.write(Data("warning: \(text)\n".utf8)) }
}
