import CleaveCore
import Plan
import PostgresDriver

/// What Cleave finished for a service (copied, verified, configured), kept in the service's own database
/// (`_cleave.outcome`), so `cleave status` and `cleave run` read it from where the work happened and never from a
/// local file that could belong to another plan or disagree with the data.
///
/// Each outcome carries the key it was reached for (`ServicePlan.outcomeKey`): the plan, the source and the
/// service's tables and transforms. An outcome under another key is stale and counts as not done.
public enum OutcomeStore {
  /// One recorded outcome.
  public struct Outcome: Sendable, Codable, Equatable {
    public var step: String
    public var passed: Bool
    public var detail: String?
    public var key: String
    /// ISO 8601, UTC, to the microsecond.
    public var finishedAt: String
  }

  static let create = """
    CREATE SCHEMA IF NOT EXISTS _cleave;
    REVOKE ALL ON SCHEMA _cleave FROM PUBLIC;
    CREATE TABLE IF NOT EXISTS _cleave.outcome (
      service text NOT NULL,
      step text NOT NULL,
      passed boolean NOT NULL,
      detail text,
      key text NOT NULL,
      finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (service, step));
    """

  /// Records `step` for `service` (replacing an earlier record of the same step), in its database.
  ///
  /// - Throws: `CleaveError` when the service's database cannot be reached or written.
  public static func record(
    _ step: String, service: ServicePlan, passed: Bool, detail: String? = nil, key: String
  ) async throws {
    let connection: SerialConnection
    do { connection = try await SerialConnection.connect(service.server.withDatabase(service.database)) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
    defer { Task { await connection.close() } }
    try await record(step, service: service.name, passed: passed, detail: detail, key: key, on: connection)
  }

  /// Records `step` on a connection already open to the service's database.
  public static func record(
    _ step: String, service: String, passed: Bool, detail: String?, key: String, on connection: SerialConnection
  ) async throws {
    try await connection.execute(create)
    try await connection.query(
      """
      INSERT INTO _cleave.outcome (service, step, passed, detail, key) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (service, step) DO UPDATE SET passed = EXCLUDED.passed, detail = EXCLUDED.detail,
        key = EXCLUDED.key, finished_at = EXCLUDED.finished_at
      """, [service, step, passed ? "true" : "false", detail, key])
  }

  /// Every outcome recorded for `service`, by step; empty when its database or the table does not exist.
  public static func read(_ service: ServicePlan) async -> [String: Outcome] {
    guard let connection = try? await SerialConnection.connect(service.server.withDatabase(service.database))
    else { return [:] }
    defer { Task { await connection.close() } }
    guard (try? await connection.query("SELECT to_regclass('_cleave.outcome') IS NOT NULL").scalar) == "t",
      let rows = try? await connection.query(
        """
        SELECT step, passed, detail, key,
          to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finished_at
        FROM _cleave.outcome WHERE service = $1
        """, [service.name]
      ).namedRows
    else { return [:] }
    var result: [String: Outcome] = [:]
    for row in rows {
      result[row.string("step")] = Outcome(
        step: row.string("step"), passed: row.bool("passed"), detail: row["detail"], key: row.string("key"),
        finishedAt: row.string("finished_at"))
    }
    return result
  }
}
