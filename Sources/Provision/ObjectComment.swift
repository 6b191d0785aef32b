import PostgresDriver

/// The comment on a database or role of a server: where Cleave's mark (`Provenance`) lives.
public enum ObjectComment {
  /// `.none` when there is no database `name`; `.some(nil)` when it has no comment.
  public static func database(_ name: String, on admin: SerialConnection) async throws -> String?? {
    try await admin.query(
      "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", [name]
    ).namedRows.first.map { $0["comment"] }
  }

  /// `.none` when there is no role `name`; `.some(nil)` when it has no comment.
  public static func role(_ name: String, on admin: SerialConnection) async throws -> String?? {
    try await admin.query(
      "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [name]
    ).namedRows.first.map { $0["comment"] }
  }
}
