import PostgresDriver

extension Fixtures {
  /// An order-independent fingerprint of a query's rows: their count and the md5 of their text forms, sorted.
  ///
  /// Two databases hold the same rows exactly when the same query gives the same fingerprint in both.
  public static func fingerprint(_ query: String, in info: ConnInfo) async throws -> String {
    let connection = try await SerialConnection.connect(info)
    defer { Task { await connection.close() } }
    return try await connection.query(
      "SELECT count(*)::text || ':' || coalesce(md5(string_agg(x, E'\\n' ORDER BY x)), '') FROM "
        + "(SELECT q::text AS x FROM (\(query)) AS q) AS s"
    ).scalar ?? ""
  }
}
