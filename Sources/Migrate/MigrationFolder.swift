import CleaveCore
import Foundation

/// A service's migrations folder, read as it is: Prisma's layout (`<timestamp>_<name>/migration.sql` and
/// `migration_lock.toml`) or Flyway's (`V<version>__<description>.sql`, `R__<description>.sql`).
public struct MigrationFolder: Sendable {
  /// Which tool's layout, and so which history table and checksum.
  public enum Layout: String, Sendable, Codable {
    case prisma
    case flyway
  }

  public var path: String
  public var layout: Layout
  /// Versioned migrations in the order they apply, then (Flyway) repeatable ones by description.
  public var migrations: [Migration]

  /// Reads the folder at `path`.
  ///
  /// - Throws: `CleaveError` when the folder cannot be read or holds neither layout.
  public static func read(_ path: String) throws(CleaveError) -> MigrationFolder {
    let manager = FileManager.default
    let entries: [String]
    do { entries = try manager.contentsOfDirectory(atPath: path).sorted() } catch {
      if !manager.fileExists(atPath: path) {
        throw CleaveError(
          .migrationFolderUnreadable, "the migrations folder \(path) does not exist",
          hint: "start it from the service database with `cleave migrate baseline`, create it, or point the "
            + "service's `migrations:` at the folder that holds its migrations")
      }
      throw CleaveError(
        .migrationFolderUnreadable, "cannot read the migrations folder \(path): \(error.localizedDescription)",
        hint: "create it, or point the service's `migrations:` at the folder that holds its migrations")
    }
    let prismaFolders = entries.filter { manager.fileExists(atPath: "\(path)/\($0)/migration.sql") }
    if entries.contains("migration_lock.toml") || !prismaFolders.isEmpty {
      var migrations: [Migration] = []
      for name in prismaFolders {
        let file = "\(path)/\(name)/migration.sql"
        guard let bytes = manager.contents(atPath: file) else {
          throw CleaveError(.migrationFolderUnreadable, "cannot read \(file)")
        }
        let description = name.split(separator: "_", maxSplits: 1).dropFirst().first.map(String.init) ?? name
        migrations.append(
          Migration(
            name: name, version: nil, description: description, kind: .versioned, path: file,
            script: String(decoding: bytes, as: UTF8.self), checksum: MigrationChecksum.prisma(bytes)))
      }
      return MigrationFolder(path: path, layout: .prisma, migrations: migrations)
    }
    var versioned: [Migration] = []
    var repeatable: [Migration] = []
    for name in entries where name.hasSuffix(".sql") {
      let stem = String(name.dropLast(4))
      guard let separator = stem.range(of: "__") else { continue }
      let prefix = stem[..<separator.lowerBound]
      let description = stem[separator.upperBound...].replacingOccurrences(of: "_", with: " ")
      let file = "\(path)/\(name)"
      guard let bytes = manager.contents(atPath: file) else {
        throw CleaveError(.migrationFolderUnreadable, "cannot read \(file)")
      }
      let script = String(decoding: bytes, as: UTF8.self)
      let checksum = String(MigrationChecksum.flyway(script))
      if prefix == "R" {
        repeatable.append(
          Migration(
            name: name, version: nil, description: description, kind: .repeatable, path: file, script: script,
            checksum: checksum))
      } else if prefix.first == "V" {
        let version = prefix.dropFirst().replacingOccurrences(of: "_", with: ".")
        versioned.append(
          Migration(
            name: name, version: version, description: description, kind: .versioned, path: file, script: script,
            checksum: checksum))
      }
    }
    guard !versioned.isEmpty || !repeatable.isEmpty || entries.isEmpty else {
      throw CleaveError(
        .migrationFolderUnreadable, "\(path) holds neither Prisma nor Flyway migrations",
        hint: "Prisma: <timestamp>_<name>/migration.sql; Flyway: V<version>__<description>.sql, R__<description>.sql")
    }
    versioned.sort { Self.versionPrecedes($0.version ?? "", $1.version ?? "") }
    repeatable.sort { $0.description < $1.description }
    return MigrationFolder(path: path, layout: .flyway, migrations: versioned + repeatable)
  }

  /// Flyway's version order: dot-separated parts compared as numbers (`1.10` after `1.9`).
  static func versionPrecedes(_ left: String, _ right: String) -> Bool {
    let a = left.split(separator: ".").map { Int($0) ?? 0 }
    let b = right.split(separator: ".").map { Int($0) ?? 0 }
    for index in 0..<max(a.count, b.count) {
      let x = index < a.count ? a[index] : 0
      let y = index < b.count ? b[index] : 0
      if x != y { return x < y }
    }
    return false
  }
}
