import ArgumentParser
import CleaveCore
import Config
import Foundation
import Plan

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

  @Option(help: "The secrets file provision wrote (read with --inline-secrets).")
  var secrets: String = "cleave-secrets.env"

  func validate() throws {
    if inlineSecrets && out == nil {
      throw ValidationError("--inline-secrets writes passwords only into files: give --out DIR")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let plan = try PlanDecoder.load(path: file, environment: ProcessInfo.processInfo.environment)
      let connections = try ServiceConnections.resolve(
        plan: plan, secretsPath: secrets, inlineSecrets: inlineSecrets)
      let budget = await ConnectionBudget.check(
        connections, targets: plan.targets.map { ($0.name, $0.endpoint.url) })
      for line in budget.lines { if let warning = line.warning { Self.warn(warning) } }
      for (target, reason) in budget.unreachable {
        Self.warn("target \"\(target)\" could not be reached, so its connection budget was not checked: \(reason)")
      }
      let majors = Dictionary(uniqueKeysWithValues: budget.lines.map { ($0.target, $0.majorVersion) })
      let files = ConfigWriter(connections: connections, serverMajors: majors).files(format)
      guard let out else {
        print(
          files.count == 1
            ? files[0].content
            : files.map { "# ==> \($0.path) <==\n\($0.content)" }.joined(separator: "\n"), terminator: "")
        return
      }
      for file in files {
        let path = out + "/" + file.path
        try ConfigFileWriter.write(file.content, to: path, secret: file.secret)
        print(path + (file.secret ? " (mode 0600: holds passwords)" : ""))
      }
    }
  }

  static func warn(_ text: String) { FileHandle.standardError.write(Data("warning: \(text)\n".utf8)) }
}

/// Writes one configuration file, with mode 0600 from its creation when it holds a password.
enum ConfigFileWriter {
  static func write(_ text: String, to path: String, secret: Bool) throws(CleaveError) {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
      throw CleaveError(.fileWriteFailed, "cannot create \(folder): \(error.localizedDescription)")
    }
    try PrivateFile.write(text, to: path, mode: secret ? 0o600 : 0o644, what: "the configuration file")
  }
}
