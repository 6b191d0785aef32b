import PostgresDriver

/// A normalized statement `pg_stat_statements` recorded for the source database, with how often it ran.
public struct RecordedStatement: Sendable {
  public var queryID: String
  public var query: String
  public var calls: Int64

  public init(queryID: String, query: String, calls: Int64) {
    self.queryID = queryID
    self.query = query
    self.calls = calls
  }

  /// Reads the statements recorded for the connection's current database, most called first, without Cleave's
  /// own (which start with `Connection.marker`).
  ///
  /// - Throws: `PostgresError` when the view cannot be read.
  public static func read(from connection: SerialConnection) async throws(PostgresError) -> [RecordedStatement] {
    let result = try await connection.query(
      """
      SELECT s.queryid::text AS queryid, s.query, sum(s.calls)::int8 AS calls
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = current_database() AND s.query IS NOT NULL AND left(s.query, $1) <> $2
      GROUP BY s.queryid, s.query
      ORDER BY calls DESC, queryid
      """, [String(Connection.marker.count), Connection.marker])
    return result.namedRows.map {
      RecordedStatement(queryID: $0.string("queryid"), query: $0.string("query"), calls: Int64($0.int("calls")))
    }
  }
}
