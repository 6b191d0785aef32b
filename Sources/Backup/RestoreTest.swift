import CleaveCore
import Foundation
import PostgresDriver
import PostgresTools
import Provision

/// `cleave backup --test-restore`: restores a backup into a scratch database on a target server, counts every
/// table the manifest lists, and drops the scratch database again, whatever happened.
///
/// The scratch database is named `cleave_restore_check_<random>` and carries Cleave's mark; it is restored with
/// `--no-owner --no-acl` (roles are not part of a `pg_dump`) and `--exit-on-error`: a backup that does not
/// restore cleanly is a failed backup.
public struct RestoreTest: Sendable {
  public var directory: String
  /// The target server, as its admin (any database on it).
  public var server: ConnInfo

  public init(directory: String, server: ConnInfo) {
    self.directory = directory
    self.server = server
  }

  /// One table: the rows the manifest recorded and the rows the restore holds.
  public struct Count: Sendable, Codable, Equatable {
    public var table: String
    public var expected: Int
    public var restored: Int?
  }

  /// - Returns: the counts per table, once they all match.
  /// - Throws: `CleaveError` (`restoreMismatch`) listing the tables whose counts differ, or why the restore failed.
  public func run() async throws -> [Count] {
    let manifest = try BackupMaker.manifest(in: directory)
    let counts: [Count]
    do {
      counts = try await ScratchDatabase.with(on: server, prefix: "cleave_restore_check_", purpose: "restore check") {
        name in
        try await PostgresTool(
          "pg_restore", connectingTo: server.withDatabase(name),
          arguments: ["--no-owner", "--no-acl", "--exit-on-error", directory + "/" + BackupManifest.dumpName]
        ).run(what: "restoring the backup into \(name)")
        let restored = try await SerialConnection.connect(server.withDatabase(name))
        var counts: [Count] = []
        for table in manifest.tables {
          // The manifest's names are quoted where PostgreSQL needs it, so they read back as SQL.
          let rows = try? await restored.query("SELECT count(*) FROM ONLY \(table.name)")
          counts.append(Count(table: table.name, expected: table.rows, restored: rows?.scalar.flatMap { Int($0) }))
        }
        await restored.close()
        return counts
      }
    } catch let error as CleaveError {
      throw CleaveError(
        .restoreMismatch, "the backup in \(directory) does not restore: \(error.message)",
        hint: "a backup that cannot be restored is no backup: make a new one")
    }
    let wrong = counts.filter { $0.restored != $0.expected }
    guard wrong.isEmpty else {
      let list = wrong.map {
        "\($0.table): \($0.expected) in the manifest, \($0.restored.map(String.init) ?? "no table") restored"
      }
      throw CleaveError(
        .restoreMismatch, "the restored backup differs from its manifest: " + list.joined(separator: "; "),
        hint: "the backup cannot be trusted: make a new one")
    }
    return counts
  }
}
