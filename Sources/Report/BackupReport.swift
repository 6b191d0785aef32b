import Backup

/// `cleave backup` output: where the backup is, what it holds, and, after `--test-restore`, the counts it
/// restored to.
public struct BackupReport: Sendable {
  public let directory: String
  public let manifest: BackupManifest
  public let restored: [RestoreTest.Count]?
  /// True for `--check`: the files were verified against the manifest.
  public let checked: Bool

  public init(directory: String, manifest: BackupManifest, restored: [RestoreTest.Count]?, checked: Bool) {
    self.directory = directory
    self.manifest = manifest
    self.restored = restored
    self.checked = checked
  }

  struct JSONShape: Encodable {
    var directory: String
    var manifest: BackupManifest
    var restored: [RestoreTest.Count]?
    var checked: Bool
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else {
      return JSONRendering.render(
        JSONShape(directory: directory, manifest: manifest, restored: restored, checked: checked))
    }
    let rows = manifest.tables.reduce(0) { $0 + $1.rows }
    var lines = [
      "backup \(directory) (\(manifest.scope)), taken \(manifest.createdAt) in snapshot \(manifest.snapshot)",
      "  source \(manifest.source), PostgreSQL \(manifest.serverVersion), \(manifest.pgDumpVersion)",
      "  \(manifest.tables.count) tables with data, \(Formatting.count(Int64(rows))) rows",
    ]
    for file in manifest.files {
      lines.append("  \(file.name): \(Formatting.bytes(file.bytes)), sha256 \(file.sha256)")
    }
    if checked { lines.append("checked: every file matches the manifest, and pg_restore reads the dump") }
    if let restored {
      lines.append(
        "test restore: \(restored.count) tables restored to the manifest's counts "
          + "(\(Formatting.count(Int64(restored.reduce(0) { $0 + ($1.restored ?? 0) }))) rows); scratch database dropped"
      )
    }
    return lines.joined(separator: "\n")
  }
}
