import CleaveCore
import Foundation
import Plan

/// What `cleave config` and `cleave run`'s config step both produce, from one place: each service's settings in
/// the chosen form, with the connection budget checked against every target server (its major version also
/// picks the compose image), and files holding a password written with mode 0600 from their creation.
public struct ConfigOutput: Sendable {
  public var plan: PlanFile
  public var secretsPath: String
  public var inlineSecrets: Bool

  public init(plan: PlanFile, secretsPath: String, inlineSecrets: Bool) {
    self.plan = plan
    self.secretsPath = secretsPath
    self.inlineSecrets = inlineSecrets
  }

  /// The files and the warnings to show (an overrun budget, a target that could not be reached).
  public struct Rendered: Sendable {
    public var files: [ConfigFile]
    public var warnings: [String]
  }

  /// Renders the settings in `format`.
  ///
  /// - Throws: `CleaveError` for a plan naming an unknown target, or (with inline secrets) a missing password.
  public func render(_ format: ConfigFormat) async throws -> Rendered {
    let connections = try ServiceConnections.resolve(plan: plan, secretsPath: secretsPath, inlineSecrets: inlineSecrets)
    let budget = await ConnectionBudget.check(connections, targets: plan.targets.map { ($0.name, $0.endpoint.url) })
    var warnings = budget.lines.compactMap(\.warning)
    for (target, reason) in budget.unreachable {
      warnings.append("target \"\(target)\" could not be reached, so its connection budget was not checked: \(reason)")
    }
    let majors = Dictionary(uniqueKeysWithValues: budget.lines.map { ($0.target, $0.majorVersion) })
    return Rendered(
      files: ConfigWriter(connections: connections, serverMajors: majors).files(format), warnings: warnings)
  }

  /// What every file `cleave config` writes says near its top, so a later run knows it may replace it.
  public static let mark = "Written by `cleave config`"

  /// Writes `files` under `directory`, replacing files an earlier `cleave config` wrote; a file there that Cleave
  /// did not write (a team's own `.env`) is replaced only with `force`, and nothing is written otherwise.
  ///
  /// - Returns: each file's path.
  /// - Throws: `CleaveError` when a folder or file cannot be written, or (`confirmationRequired`) a file in the way
  ///   is not Cleave's.
  public static func write(_ files: [ConfigFile], to directory: String, force: Bool = false) throws(CleaveError)
    -> [String]
  {
    let foreign = files.map { directory + "/" + $0.path }.filter { path in
      guard FileManager.default.fileExists(atPath: path) else { return false }
      let head = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").prefix(3) ?? []
      return !head.contains { $0.contains(mark) }
    }
    if !force, !foreign.isEmpty {
      throw CleaveError(
        .confirmationRequired,
        "\(foreign.joined(separator: ", ")) already \(foreign.count == 1 ? "exists" : "exist") and "
          + "\(foreign.count == 1 ? "was" : "were") not written by `cleave config`; nothing was written",
        hint: "write into another folder (--out), or pass --force to replace \(foreign.count == 1 ? "it" : "them")")
    }
    var paths: [String] = []
    for file in files {
      let path = directory + "/" + file.path
      let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
      do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw CleaveError(.fileWriteFailed, "cannot create \(folder): \(error.localizedDescription)")
      }
      try PrivateFile.write(file.content, to: path, mode: file.secret ? 0o600 : 0o644, what: "the configuration file")
      paths.append(path)
    }
    return paths
  }
}
