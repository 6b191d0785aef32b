import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools

/// Checks that every value of a soft reference (a foreign key the split turned into a reference across service
/// databases) exists in the referenced service's database.
///
/// Both key sets are read in byte order (`COLLATE "C"` over their text form, so two servers with different
/// collations agree on the order) through cursors, a batch at a time, and merged: memory stays flat whatever
/// the tables' size.
struct SoftReferenceCheck {
  let key: ForeignKey
  let from: (service: String, table: QualifiedName, columns: [String], connection: SerialConnection)
  let to: (service: String, table: QualifiedName, columns: [String], connection: SerialConnection)
  static let reported = 10

  func run() async throws -> VerifySummary.ReferenceResult {
    func keySQL(_ table: QualifiedName, _ columns: [String]) -> String {
      let text = columns.map { "(\(QualifiedName.quote($0)))::text" }.joined(separator: " || E'\\x1f' || ")
      let notNull = columns.map { "\(QualifiedName.quote($0)) IS NOT NULL" }.joined(separator: " AND ")
      return "SELECT DISTINCT \(text) COLLATE \"C\" AS k FROM ONLY \(table.quoted) WHERE \(notNull) ORDER BY 1"
    }
    let left = RowCursor(connection: from.connection, name: "cleave_from", sql: keySQL(from.table, from.columns))
    let right = RowCursor(connection: to.connection, name: "cleave_to", sql: keySQL(to.table, to.columns))
    for side in [left, right] {
      try await side.connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      try await side.open()
    }
    var checked = 0
    var orphans = 0
    var examples: [String] = []
    func nextKey(_ cursor: RowCursor) async throws -> String? {
      try await cursor.next().map { $0.first.flatMap { $0 } ?? "" }
    }
    var wanted = try await nextKey(left)
    var have = try await nextKey(right)
    while let value = wanted {
      checked += 1
      while let present = have, Array(present.utf8).lexicographicallyPrecedes(Array(value.utf8)) {
        have = try await nextKey(right)
      }
      if have != value {
        orphans += 1
        if examples.count < Self.reported { examples.append(value.replacingOccurrences(of: "\u{1f}", with: ", ")) }
      }
      wanted = try await nextKey(left)
    }
    for side in [left, right] {
      try await side.close()
      try await side.connection.execute("COMMIT")
    }
    return VerifySummary.ReferenceResult(
      constraint: key.name, fromService: from.service, from: from.table, toService: to.service, to: to.table,
      checkedValues: checked, orphans: orphans, firstOrphans: examples)
  }
}
