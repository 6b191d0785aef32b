import PostgresDriver

/// A table's rows reduced to a row count and an order-independent checksum, computed inside the server.
///
/// Each row's text form (under the pinned session settings) is hashed to 64 bits with `hashtextextended`, and
/// the hashes are summed as `numeric` (PostgreSQL accumulates a `bigint` sum in 128 bits): the sum never
/// overflows, duplicates count (unlike XOR), and no row travels to Cleave. A 64-bit hash, not pgcopydb's 32-bit
/// `hashtext`: a changed row escapes notice only if the sum moves by exactly zero, about one chance in 2^64.
/// md5 would give 128 bits but costs about five times a scan of the table (docs/verify.md, "Why this hash").
public struct TableChecksum: Sendable, Hashable, Codable {
  public var rows: Int
  public var sum: String

  /// The SQL expression of one row's hash, for a row (or any value) written `value`.
  static func rowHash(_ value: String) -> String { "hashtextextended((\(value))::text, 0)" }

  /// The checksum of what `query` returns, read on `connection`.
  public static func of(_ query: String, on connection: SerialConnection) async throws(PostgresError) -> TableChecksum {
    let result = try await connection.query(
      "SELECT count(*) AS rows, coalesce(sum(\(rowHash("q"))), 0)::text AS sum FROM (\(query)) AS q")
    let row = result.namedRows.first
    return TableChecksum(rows: row?.int("rows") ?? 0, sum: row?.string("sum") ?? "")
  }
}
