import Foundation

/// What a backup holds, written next to it as `manifest.json`: where it came from, which tools made it, the row
/// count of every table whose data it holds (counted in the dump's own snapshot), and each file's size and
/// sha256, so that the backup can be checked and test-restored later.
public struct BackupManifest: Sendable, Codable, Equatable {
  public var formatVersion = 1
  /// When the backup was made, ISO 8601 in UTC.
  public var createdAt: String
  /// The source, its password removed.
  public var source: String
  /// The plan and source the backup was made for (`PlanIdentity`); nil in a backup of an older Cleave.
  public var plan: String?
  /// The tables the plan moved when the backup was made (their data is in it); nil in an older backup.
  public var moved: [String]?
  public var serverVersion: String
  public var pgDumpVersion: String
  /// `owned tables and the tables they reference` (the schema of everything, the data of the tables the plan
  /// gives to a service and of those their foreign keys point at) or `all`.
  public var scope: String
  /// The snapshot the dump and the counts were taken in.
  public var snapshot: String
  public var tables: [TableCount]
  public var files: [FileEntry]

  /// A table whose rows are in the backup, and how many.
  public struct TableCount: Sendable, Codable, Equatable {
    /// The table's name, `schema.table` as PostgreSQL quotes it where needed.
    public var name: String
    public var rows: Int
    /// The table's size on the source, indexes and TOAST included (`pg_total_relation_size`).
    public var bytes: Int64
  }

  /// A file of the backup, its size and sha256 (hex).
  public struct FileEntry: Sendable, Codable, Equatable {
    public var name: String
    public var bytes: Int64
    public var sha256: String
  }

  public static let fileName = "manifest.json"
  public static let dumpName = "source.dump"
}
