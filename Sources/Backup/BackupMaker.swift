import Catalog
import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver
import PostgresTools

/// Runs `cleave backup`: a `pg_dump -Fc` of the source taken in one exported snapshot, the row count of every
/// table whose data it holds counted in that same snapshot, and a manifest with each file's sha256.
///
/// By default the dump holds the whole schema (so that it restores on its own: types, functions and sequences
/// the tables need) and the data of the tables the plan gives to a service, with the tables their foreign keys
/// reference (else the restore's foreign keys would fail); `all` adds every other table's data.
/// The dump is written under a temporary name and renamed when complete, and the manifest is written last: a
/// folder with a manifest holds a finished backup.
public struct BackupMaker: Sendable {
  public var plan: SplitPlan
  public var directory: String
  public var all: Bool
  /// Where the backup's steps are logged, with their durations.
  public var logger: Logger = .silent

  public init(plan: SplitPlan, directory: String, all: Bool) {
    self.plan = plan
    self.directory = directory
    self.all = all
  }

  /// - Returns: the manifest written with the backup.
  /// - Throws: `CleaveError` when the source cannot be read or the files cannot be written.
  public func run() async throws -> BackupManifest {
    let source = plan.source
    // The backup holds the moved tables' data: its folder is the owner's alone (0700) before any file is in it,
    // and each file is 0600.
    do {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
    } catch {
      throw CleaveError(.fileWriteFailed, "cannot create the backup folder \(directory): \(error.localizedDescription)")
    }
    let snapshot = try await SourceSnapshot.export(from: source)
    let reader = try await snapshot.join(source)
    let catalog = try await CatalogReader(connection: reader).read(inOpenTransaction: true)
    let owned = Self.withReferencedTables(Set(plan.services.flatMap(\.tables)), catalog: catalog)
    let ordinary = catalog.tables.filter { $0.kind == .ordinary }.map(\.name)
    let withData = ordinary.filter { all || owned.contains($0) }
    let withoutData = ordinary.filter { !all && !owned.contains($0) }
    var counts: [BackupManifest.TableCount] = []
    for table in withData {
      let row = try await reader.query(
        "SELECT count(*) AS rows, pg_total_relation_size($1::regclass) AS bytes FROM ONLY \(table.quoted)",
        [table.quoted]
      ).namedRows.first
      counts.append(
        .init(name: table.description, rows: row?.int("rows") ?? 0, bytes: Int64(row?.string("bytes") ?? "") ?? 0))
    }
    let serverVersion = try await reader.query("SHOW server_version").scalar ?? ""
    let dump = directory + "/" + BackupManifest.dumpName
    let partial = dump + ".partial"
    try? FileManager.default.removeItem(atPath: partial)
    do {
      try await logger.step("backup: pg_dump of \(withData.count) tables' data", metadata: ["source": "\(source)"]) {
        try await PostgresTool(
          "pg_dump", connectingTo: source,
          arguments: ["-Fc", "--snapshot=\(snapshot.id)", "-f", partial]
            + withoutData.flatMap { ["--exclude-table-data", $0.quoted] }
        ).run(what: "backing up the source")
      }
    } catch let error as CleaveError {
      throw CleaveError(.backupFailed, error.message, hint: error.hint)
    }
    try? await reader.execute("COMMIT")
    await reader.close()
    await snapshot.release()
    guard chmod(partial, 0o600) == 0, rename(partial, dump) == 0 else {
      throw CleaveError(.backupFailed, "cannot move the finished dump into place at \(dump)")
    }
    let digest = try FileDigest.of(dump)
    let version = try await PostgresTool("pg_dump", arguments: ["--version"]).run(what: "reading pg_dump's version")
    let manifest = BackupManifest(
      createdAt: ISO8601DateFormatter().string(from: Date()), source: source.redacted,
      plan: plan.identity.description, moved: plan.services.flatMap(\.tables).map(\.description).sorted(),
      serverVersion: serverVersion,
      pgDumpVersion: version.trimmingCharacters(in: .whitespacesAndNewlines),
      scope: all ? "all" : "owned tables and the tables they reference",
      snapshot: snapshot.id, tables: counts,
      files: [.init(name: BackupManifest.dumpName, bytes: digest.bytes, sha256: digest.sha256)])
    try Self.write(manifest, to: directory)
    // A backup that cannot be read back is a failed backup: check it now, not on the day it is needed.
    _ = try await BackupCheck.run(directory: directory)
    return manifest
  }

  /// `tables` and every table their foreign keys reference, transitively, whole partition trees included: the
  /// restore checks each foreign key, so the rows it points at must be in the backup too.
  static func withReferencedTables(_ tables: Set<QualifiedName>, catalog: DatabaseCatalog) -> Set<QualifiedName> {
    var result = tables
    var changed = true
    while changed {
      changed = false
      let roots = Set(result.map { catalog.partitionRoot(of: $0) })
      for key in catalog.foreignKeys where roots.contains(catalog.partitionRoot(of: key.table)) {
        let referencedRoot = catalog.partitionRoot(of: key.referencedTable)
        for table in catalog.tables where catalog.partitionRoot(of: table.name) == referencedRoot {
          if result.insert(table.name).inserted { changed = true }
        }
      }
    }
    return result
  }

  static func write(_ manifest: BackupManifest, to directory: String) throws(CleaveError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let path = directory + "/" + BackupManifest.fileName
    let text: String
    do { text = String(decoding: try encoder.encode(manifest), as: UTF8.self) } catch {
      throw CleaveError(.fileWriteFailed, "cannot write \(path): \(error.localizedDescription)")
    }
    try PrivateFile.write(text, to: path, mode: 0o600, what: "the backup's manifest")
  }

  /// The manifest in `directory`.
  ///
  /// - Throws: `CleaveError` (`backupCorrupt`) when there is none or it cannot be read.
  public static func manifest(in directory: String) throws(CleaveError) -> BackupManifest {
    let path = directory + "/" + BackupManifest.fileName
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CleaveError(
        .backupCorrupt, "\(directory) has no \(BackupManifest.fileName): it is not a finished backup",
        hint: "make one with `cleave backup -f cleave.yml --dir \(directory)`")
    }
    do { return try JSONDecoder().decode(BackupManifest.self, from: data) } catch {
      throw CleaveError(.backupCorrupt, "\(path) cannot be read: \(error)")
    }
  }
}
