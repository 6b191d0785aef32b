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
}
