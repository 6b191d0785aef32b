import CleaveCore
import Plan
import PostgresDriver

/// Each service's online state, kept in the service's own database (`_cleave_online.journal`) and written in the
/// same transaction as the step it records, so it cannot disagree with what exists; every event also goes to
/// `_cleave_online.events`, the timeline reports are made from.
///
/// The schema also holds `heartbeat`, the table the source's heartbeat rows stream into. A recopy of the service
/// keeps the schema (the copy's reset leaves `_cleave_online` alone).
public enum OnlineJournal {
  /// The schema of the journal, on the target (and of the heartbeat, on both sides).
  public static let schema = "_cleave_online"

  static let create = """
    CREATE SCHEMA IF NOT EXISTS _cleave_online;
    REVOKE ALL ON SCHEMA _cleave_online FROM PUBLIC;
    CREATE TABLE IF NOT EXISTS _cleave_online.journal (
      service text PRIMARY KEY,
      state text NOT NULL,
      plan text NOT NULL,
      consistent_lsn pg_lsn,
      fence_lsn pg_lsn,
      detail text,
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE TABLE IF NOT EXISTS _cleave_online.events (
      id bigserial PRIMARY KEY,
      service text NOT NULL,
      event text NOT NULL,
      detail text,
      at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE TABLE IF NOT EXISTS _cleave_online.heartbeat (
      service text NOT NULL,
      beat bigint NOT NULL,
      at timestamptz NOT NULL,
      PRIMARY KEY (service, beat));
    \(DDLWatch.targetObjects)
    """

  /// One service's journal entry.
  public struct Entry: Sendable, Equatable {
    public var state: OnlineState
    /// The plan and source it was started for (`PlanIdentity`).
    public var plan: String
    /// Where the seed and the stream meet: the slot's consistent point.
    public var consistentPoint: String?
    /// The source's WAL position when the last cutover's fence took effect.
    public var fencePoint: String?
    public var detail: String?
  }

  /// Creates the journal's tables if they are missing.
  public static func ensure(on admin: SerialConnection) async throws {
    try await admin.execute("BEGIN; \(create) COMMIT")
  }

  /// The entry of `service`; nil when it has none (or the journal does not exist).
  ///
  /// - Throws: `CleaveError` (`onlineFailed`) when the entry holds a state Cleave does not write.
  public static func entry(of service: String, on admin: SerialConnection) async throws -> Entry? {
    guard try await admin.query("SELECT to_regclass('_cleave_online.journal') IS NOT NULL").scalar == "t" else {
      return nil
    }
    guard
      let row = try await admin.query(
        """
        SELECT state, plan, consistent_lsn::text AS consistent, fence_lsn::text AS fence, detail
        FROM _cleave_online.journal WHERE service = $1
        """, [service]
      ).namedRows.first
    else { return nil }
    guard let state = OnlineState(rawValue: row.string("state")) else {
      throw CleaveError(
        .onlineFailed,
        "service \"\(service)\": its online journal records the state \"\(row.string("state"))\", which Cleave "
          + "does not write",
        hint: "the journal (_cleave_online.journal in the service's database) was changed outside Cleave; "
          + "`cleave online cancel` removes what was made for the service")
    }
    return Entry(
      state: state, plan: row.string("plan"), consistentPoint: row["consistent"], fencePoint: row["fence"],
      detail: row["detail"])
  }

  /// The statements that record `state` for `service` (and the event); run them inside the step's transaction.
  static func record(
    _ state: OnlineState, service: String, identity: PlanIdentity, consistentPoint: String? = nil,
    fencePoint: String? = nil, detail: String? = nil, on admin: SerialConnection
  ) async throws -> String {
    func literal(_ text: String?) async throws -> String {
      guard let text else { return "NULL" }
      return try await admin.quoteLiteral(text)
    }
    let name = try await literal(service)
    return """
      INSERT INTO _cleave_online.journal (service, state, plan, consistent_lsn, fence_lsn, detail)
      VALUES (\(name), \(try await literal(state.rawValue)), \(try await literal(identity.description)),
        \(try await literal(consistentPoint))::pg_lsn, \(try await literal(fencePoint))::pg_lsn,
        \(try await literal(detail)))
      ON CONFLICT (service) DO UPDATE SET state = excluded.state, plan = excluded.plan,
        consistent_lsn = CASE WHEN excluded.state = 'seeding' THEN NULL
          ELSE coalesce(excluded.consistent_lsn, _cleave_online.journal.consistent_lsn) END,
        fence_lsn = excluded.fence_lsn, detail = excluded.detail, updated_at = clock_timestamp();
      INSERT INTO _cleave_online.events (service, event, detail)
      VALUES (\(name), \(try await literal(state.rawValue)), \(try await literal(detail)));
      """
  }
}
