import Catalog
import CleaveCore
import Copy
import Foundation
import Plan
import PostgresDriver

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
  static let batch = 10_000
  static let reported = 10

  func run() async throws -> VerifySummary.ReferenceResult {
    func keySQL(_ table: QualifiedName, _ columns: [String]) -> String {
      let text = columns.map { "(\(QualifiedName.quote($0)))::text" }.joined(separator: " || E'\\x1f' || ")
      let notNull = columns.map { "\(QualifiedName.quote($0)) IS NOT NULL" }.joined(separator: " AND ")
      return "SELECT DISTINCT \(text) COLLATE \"C\" AS k FROM ONLY \(table.quoted) WHERE \(notNull) ORDER BY 1"
    }
    let left = KeyCursor(connection: from.connection, name: "cleave_from", sql: keySQL(from.table, from.columns))
    let right = KeyCursor(connection: to.connection, name: "cleave_to", sql: keySQL(to.table, to.columns))
    try await left.open()
    try await right.open()
    var checked = 0
    var orphans = 0
    var examples: [String] = []
    var wanted = try await left.next()
    var have = try await right.next()
    while let value = wanted {
      checked += 1
      while let present = have, Array(present.utf8).lexicographicallyPrecedes(Array(value.utf8)) {
        have = try await right.next()
      }
      if have != value {
        orphans += 1
        if examples.count < Self.reported { examples.append(value.replacingOccurrences(of: "\u{1f}", with: ", ")) }
      }
      wanted = try await left.next()
    }
    try await left.close()
    try await right.close()
    return VerifySummary.ReferenceResult(
      constraint: key.name, fromService: from.service, from: from.table, toService: to.service, to: to.table,
      checkedValues: checked, orphans: orphans, firstOrphans: examples)
  }
}

/// A server-side cursor read a batch at a time.
final class KeyCursor: @unchecked Sendable {
  // @unchecked: used by one task at a time, inside one `SoftReferenceCheck.run`.
  let connection: SerialConnection
  let name: String
  let sql: String
  private var buffer: [String] = []
  private var done = false

  init(connection: SerialConnection, name: String, sql: String) {
    self.connection = connection
    self.name = name
    self.sql = sql
  }

  func open() async throws {
    try await connection.execute(
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; DECLARE \(name) NO SCROLL CURSOR FOR \(sql)")
  }

  func next() async throws -> String? {
    if buffer.isEmpty, !done {
      let rows = try await connection.query("FETCH \(SoftReferenceCheck.batch) FROM \(name)").rows
      buffer = rows.compactMap { $0.first ?? nil }.reversed()
      done = rows.count < SoftReferenceCheck.batch
    }
    return buffer.popLast()
  }

  func close() async throws { try await connection.execute("CLOSE \(name); COMMIT") }
}
