import PostgresDriver

/// A table's rows reduced to a row count and an order-independent checksum, computed inside the server.
///
/// Each row's text form is hashed with md5 (128 bits) and the two 64-bit halves are summed as `numeric`, so
/// the sum never overflows, duplicates count (unlike XOR), and no row travels to Cleave.
public struct TableChecksum: Sendable, Hashable, Codable {
  public var rows: Int
  public var high: String
  public var low: String

  /// The checksum of what `query` returns, read on `connection`.
  public static func of(_ query: String, on connection: SerialConnection) async throws(PostgresError) -> TableChecksum {
    let result = try await connection.query(
      """
      SELECT count(*) AS rows,
        coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text AS high,
        coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text AS low
      FROM (SELECT md5(q::text) AS h FROM (\(query)) AS q) AS hashed
      """)
    let row = result.namedRows.first
    return TableChecksum(rows: row?.int("rows") ?? 0, high: row?.string("high") ?? "", low: row?.string("low") ?? "")
  }
}
