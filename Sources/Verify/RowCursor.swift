import PostgresDriver

/// A server-side cursor read a batch at a time, so a result of any size passes through Cleave in bounded memory.
///
/// The cursor lives in the caller's open transaction: opening it does not begin one.
final class RowCursor: @unchecked Sendable {
  // @unchecked: used by one task at a time, inside one check.
  let connection: SerialConnection
  let name: String
  let sql: String
  let batch: Int
  private var buffer: [[String?]] = []
  private var done = false

  init(connection: SerialConnection, name: String, sql: String, batch: Int = 10_000) {
    self.connection = connection
    self.name = name
    self.sql = sql
    self.batch = batch
  }

  func open() async throws { try await connection.execute("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)") }

  /// The next row, or nil after the last one.
  func next() async throws -> [String?]? {
    if buffer.isEmpty, !done {
      let rows = try await connection.query("FETCH \(batch) FROM \(name)").rows
      buffer = rows.reversed()
      done = rows.count < batch
    }
    return buffer.popLast()
  }

  func close() async throws { try await connection.execute("CLOSE \(name)") }
}
