import CleaveTestSupport
import Copy
import Foundation
import PostgresDriver

/// A source database, a plan over it and a work folder, for one copy test.
struct CopyFixture {
  let sandbox: PostgresSandbox
  let source: ConnInfo
  let folder: String
  let planPath: String
  /// Database names get a per-test suffix, so tests in one cluster never share a target database.
  let suffix: String

  /// Writes `services` (the YAML under `services:`, with `{s}` standing for the suffix) into a plan whose
  /// source is `source` and whose target is the sandbox.
  init(
    sandbox: PostgresSandbox, source: ConnInfo, services: String, sourceURL: String? = nil,
    environment extra: [String: String] = [:], target: PostgresSandbox? = nil
  ) throws {
    let sandbox = target ?? sandbox
    self.sandbox = sandbox
    self.source = source
    let temporary = try TemporaryFolder("copy")
    suffix = temporary.suffix
    folder = temporary.path
    planPath = folder + "/cleave.yml"
    let yaml = """
      source:
        url: ${SRC}
      targets:
        main:
          url: ${DST}
      services:
      \(services.replacingOccurrences(of: "{s}", with: suffix))
      """
    try yaml.write(toFile: planPath, atomically: true, encoding: .utf8)
    environment = ["SRC": sourceURL ?? source.flattened, "DST": sandbox.connInfo().rawValue].merging(extra) { $1 }
  }

  let environment: [String: String]

  var secretsPath: String { folder + "/secrets.env" }

  func split() -> Split { Split(planPath: planPath, environment: environment, secretsPath: secretsPath) }

  func copy(jobs: Int = 2, splitBytes: Int64 = 256 << 20, binary: Bool = true) async throws -> CopySummary {
    try await split().copy(
      jobs: jobs, workDirectory: folder + "/work", splitBytes: splitBytes, reporter: SilentProgress(),
      binary: binary)
  }

  func database(_ name: String) -> ConnInfo { sandbox.connInfo(database: "\(name)_\(suffix)") }

  func remove() { try? FileManager.default.removeItem(atPath: folder) }

  /// See `Fixtures.fingerprint(_:in:)`.
  static func fingerprint(_ query: String, in info: ConnInfo) async throws -> String {
    try await Fixtures.fingerprint(query, in: info)
  }
}
