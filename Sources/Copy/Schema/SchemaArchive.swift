import CleaveCore
import Foundation
import PostgresDriver
import PostgresTools

/// The source's schema, dumped once by `pg_dump -Fc --schema-only` inside the copy's snapshot, and the parts of
/// it one service gets, in `pg_restore` order.
///
/// `pg_dump` is the one tool that writes every kind of object correctly, so Cleave never writes DDL of its own
/// for the source's objects: it chooses entries of this archive and lets `pg_restore` write them.
struct SchemaArchive: Sendable {
  let path: String
  /// The entries of each section, in archive order.
  let preData: [TOCEntry]
  let postData: [TOCEntry]

  /// Dumps the source's schema into `directory`, which belongs to this run alone: a dump is never reused by
  /// another run, plan or source.
  static func dump(source: ConnInfo, snapshot: String, directory: String) async throws -> SchemaArchive {
    let path = directory + "/schema.dump"
    try await PostgresTool(
      "pg_dump", connectingTo: source,
      arguments: [
        "--format=custom", "--schema-only", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)",
        "--file=\(path)",
      ]
    ).run(what: "dumping the source schema")
    func list(_ section: String) async throws -> [TOCEntry] {
      let text = try await PostgresTool("pg_restore", arguments: ["--list", "--section=\(section)", path])
        .run(what: "listing the schema dump")
      return text.split(separator: "\n").compactMap { TOCEntry(line: String($0)) }
    }
    return SchemaArchive(path: path, preData: try await list("pre-data"), postData: try await list("post-data"))
  }

  /// Writes a `pg_restore -L` list file holding `entries`.
  func writeList(_ entries: [TOCEntry], to file: String) throws {
    try (entries.map(\.line).joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
  }

  /// The SQL of one entry, as `pg_restore` writes it, without psql's meta-commands (`\restrict`), so it can run
  /// through libpq inside the step's own transaction.
  func sql(of entry: TOCEntry, listFile: String) async throws -> String {
    try writeList([entry], to: listFile)
    let text = try await PostgresTool(
      "pg_restore", arguments: ["--no-owner", "--no-privileges", "--use-list=\(listFile)", "--file=-", path]
    ).run(what: "reading entry \(entry.dumpID) of the schema dump")
    return text.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.hasPrefix("\\") }.joined(separator: "\n")
  }
}
