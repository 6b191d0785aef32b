import Foundation

/// A folder of its own under the temporary directory for one test, with a short random suffix that tests also
/// use to keep database and role names apart; `remove()` deletes it.
public struct TemporaryFolder: Sendable {
  public let path: String
  /// Eight lower-case hex characters, unique per folder.
  public let suffix: String

  /// Creates `$TMPDIR/cleave-<prefix>-<suffix>`.
  public init(_ prefix: String) throws {
    suffix = String(UUID().uuidString.prefix(8)).lowercased()
    path = NSTemporaryDirectory() + "cleave-\(prefix)-\(suffix)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  public func remove() { try? FileManager.default.removeItem(atPath: path) }

  /// Writes a `cleave.yml` (or `<name>.yml`) into the folder, with `source`, one target called `main`, and
  /// `services` (the YAML that goes under `services:`, written from column 0), and returns its path.
  public func writePlan(source: String, target: String, services: String, name: String = "cleave") throws -> String {
    let plan = path + "/\(name).yml"
    let indented = services.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
    try (["source: \(source)", "targets:", "  main: \(target)", "services:"] + indented).joined(separator: "\n")
      .write(toFile: plan, atomically: true, encoding: .utf8)
    return plan
  }
}
