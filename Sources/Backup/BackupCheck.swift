import CleaveCore
import Foundation
import PostgresTools

/// `cleave backup --check DIR`: every file of a backup against its manifest (size and sha256), and the dump's
/// table of contents read by `pg_restore --list`, so that a truncated or altered file is a failed backup.
public enum BackupCheck {
  /// - Returns: the manifest, once every file matches it.
  /// - Throws: `CleaveError` (`backupCorrupt`) naming the first file that differs.
  public static func run(directory: String) async throws -> BackupManifest {
    let manifest = try BackupMaker.manifest(in: directory)
    for file in manifest.files {
      let path = directory + "/" + file.name
      let found = try FileDigest.of(path)
      guard found.bytes == file.bytes, found.sha256 == file.sha256 else {
        throw CleaveError(
          .backupCorrupt,
          "\(path) does not match the manifest: \(found.bytes) bytes with sha256 \(found.sha256), "
            + "expected \(file.bytes) bytes with sha256 \(file.sha256)",
          hint: "the file was changed or damaged after the backup was made; make a new backup")
      }
    }
    do {
      try await PostgresTool("pg_restore", arguments: ["--list", directory + "/" + BackupManifest.dumpName])
        .run(what: "reading the backup's table of contents")
    } catch let error as CleaveError {
      throw CleaveError(.backupCorrupt, error.message, hint: "pg_restore cannot read the dump: make a new backup")
    }
    return manifest
  }
}
