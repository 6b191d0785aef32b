import Backup
import CleaveCore
import CleaveTestSupport
import Copy
import Foundation
import PostgresDriver
import Testing

/// A backup restores to the counts its manifest recorded; a damaged file is found.
@Suite(.postgres, .tags(.integration)) struct BackupTests {
  @Test func aBackupRestoresToItsCountsAndADamagedFileIsFound() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "backup_src")
    let temporary = try TemporaryFolder("backup")
    defer { temporary.remove() }
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        films:
          database: films_\(temporary.suffix)
          tables: [film, language, inventory]
        payments:
          database: payments_\(temporary.suffix)
          tables: [payment]
        """)
    let resolved = try await Split(planPath: plan, environment: [:], secretsPath: "").resolvedPlan()
    let directory = temporary.path + "/backup"
    let manifest = try await BackupMaker(plan: resolved, directory: directory, all: false).run()
    // The moved tables' data is for the owner's eyes only (issue 12: backups were 0644).
    func mode(_ path: String) throws -> Int? {
      try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    }
    #expect(try mode(directory) == 0o700)
    #expect(try mode(directory + "/" + BackupManifest.dumpName) == 0o600)
    #expect(try mode(directory + "/" + BackupManifest.fileName) == 0o600)

    // The manifest counts every owned table holding data (payment's partitions, not its empty parent).
    let reader = try await SerialConnection.connect(source)
    for name in ["public.film", "public.language", "public.inventory", "public.payment_p2022_03"] {
      let counted = try await reader.query("SELECT count(*) FROM ONLY \(name)").scalar
      #expect(manifest.tables.first { $0.name == name }.map { "\($0.rows)" } == counted, "\(name)")
    }
    #expect(!manifest.tables.contains { $0.name == "public.actor" }, "actor is not moved: no data, no count")
    // inventory references store and film; store references address and staff, and so on: the rows those
    // foreign keys point at are in the backup too, or it would not restore.
    for referenced in ["public.store", "public.address", "public.city", "public.country", "public.staff"] {
      #expect(manifest.tables.contains { $0.name == referenced }, "\(referenced)")
    }
    #expect(manifest.tables.allSatisfy { $0.bytes > 0 })
    #expect(manifest.serverVersion.hasPrefix("15") && manifest.pgDumpVersion.contains("pg_dump"))
    let file = try #require(manifest.files.first)
    #expect(file.sha256.count == 64 && file.bytes > 0)
    let onDisk = try FileManager.default.attributesOfItem(atPath: directory + "/" + file.name)[.size] as? Int64
    #expect(onDisk == file.bytes)

    #expect(try await BackupCheck.run(directory: directory) == manifest)
    let counts = try await RestoreTest(directory: directory, server: sandbox.connInfo()).run()
    #expect(counts.count == manifest.tables.count && counts.allSatisfy { $0.restored == $0.expected })
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    let scratch = try await admin.query(
      "SELECT count(*) FROM pg_database WHERE datname LIKE 'cleave\\_restore\\_check\\_%'"
    ).scalar
    #expect(scratch == "0", "the scratch database is dropped")

    // One byte changed in the middle of the dump: the check names the file and the backup fails.
    let path = directory + "/" + file.name
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: path))
    let damaged = await #expect(throws: CleaveError.self) { try await BackupCheck.run(directory: directory) }
    #expect(damaged?.code == .backupCorrupt && damaged?.message.contains(file.name) == true)
    #expect(damaged?.exitStatus == .backupFailed)

    // Cut short: the same.
    try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: path))
    await #expect(throws: CleaveError.self) { try await BackupCheck.run(directory: directory) }
    let restore = await #expect(throws: CleaveError.self) {
      try await RestoreTest(directory: directory, server: sandbox.connInfo()).run()
    }
    #expect(restore?.code == .restoreMismatch)
    #expect(
      try await admin.query(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'cleave\\_restore\\_check\\_%'"
      ).scalar == "0", "dropped after a failed restore too")
  }
}
