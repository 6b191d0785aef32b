import Plan
import PostgresDriver

/// Whether a table travels as binary COPY or as text, decided once per table.
///
/// Binary COPY skips the text output and input functions on both servers, which is where a CPU-bound copy spends
/// its time. It is used only when the two servers run the same major version (binary formats may change between
/// them) and every column the job loads is a plain source column whose type travels in binary between two
/// databases: a built-in type with send and receive functions (built-in arrays included: their element type's
/// OID is the same on both servers), an enum (sent as its label), or a domain over a built-in type. Anything
/// else (a composite, an extension's type, an array of an enum, a column a transform computes) goes as text,
/// because binary values of those carry OIDs that differ between databases, or are not the target type exactly.
public enum CopyFormat: String, Sendable, Codable {
  case binary
  case text

  /// The format for the table `projection` loads, given the servers' major versions.
  static func decide(
    _ projection: TableProjection, sourceMajor: Int, targetMajor: Int, allowBinary: Bool,
    on source: SerialConnection
  ) async throws -> CopyFormat {
    guard allowBinary, sourceMajor == targetMajor,
      projection.columns.allSatisfy({ $0.origin == .source }), !projection.loadColumns.isEmpty
    else { return .text }
    let portable = try await source.query(
      """
      SELECT bool_and(t.typsend <> 0 AND t.typreceive <> 0 AND (
          (t.oid < 16384 AND t.typtype IN ('b', 'r', 'm'))
          OR t.typtype = 'e'
          OR (t.typtype = 'd' AND t.typbasetype < 16384)))
        AND count(*) = $3::int
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attname = ANY ($2::text[]) AND a.attnum > 0 AND NOT a.attisdropped
      """,
      [
        projection.table.name.quoted, PostgresArray.literal(projection.loadColumns),
        String(projection.loadColumns.count),
      ]
    ).scalar
    return portable == "t" ? .binary : .text
  }

  /// The server's major version (15 for 15.4).
  static func major(of connection: SerialConnection) async throws -> Int {
    Int(try await connection.query("SELECT current_setting('server_version_num')::int / 10000").scalar ?? "") ?? 0
  }
}
