import CleaveCore
import Plan
import PostgresDriver

/// The subscription on the service's database that applies the source's changes, created on the slot the seed
/// was copied in and started at that slot's consistent point.
///
/// `CREATE SUBSCRIPTION` holds the source's password in its `CONNECTION`; it runs with `log_statement`,
/// `log_min_error_statement` and `pg_stat_statements.track_utility` switched off for its transaction, so the
/// target's log and statistics never see it (the catalog keeps it where only superusers read it, as PostgreSQL
/// does for every subscription).
enum OnlineSubscription {
  /// Keeps to the subscriptions of the connected database (`pg_subscription` lists every database's, and names are
  /// unique per database only); for a query naming `pg_subscription` as `s`.
  static let inThisDatabase = "s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"

  /// Creates the subscription `name` on `admin`, disabled, advances its replication origin to `point`, enables it
  /// and records `streaming` in the journal, all in one transaction.
  ///
  /// - Throws: `CleaveError` (`onlineFailed`) when the target refuses.
  static func create(
    _ name: String, slot: String, point: String, source: String, service: String, identity: PlanIdentity,
    on admin: SerialConnection
  ) async throws {
    let journal = try await OnlineJournal.record(
      .streaming, service: service, identity: identity, consistentPoint: point,
      detail: "streaming from \(point)", on: admin)
    let mark = try await admin.quoteLiteral("cleave: online \(service); \(identity)")
    do {
      try await admin.execute(
        """
        BEGIN;
        SET LOCAL log_statement = 'none';
        SET LOCAL log_min_error_statement = 'panic';
        SET LOCAL pg_stat_statements.track_utility = off;
        CREATE SUBSCRIPTION \(name) CONNECTION \(try await admin.quoteLiteral(source)) PUBLICATION \(name)
          WITH (copy_data = false, create_slot = false, slot_name = \(try await admin.quoteLiteral(slot)),
                enabled = false, binary = true, disable_on_error = true);
        COMMENT ON SUBSCRIPTION \(name) IS \(mark);
        SELECT pg_replication_origin_advance('pg_' || oid, \(try await admin.quoteLiteral(point))::pg_lsn)
          FROM pg_subscription s WHERE subname = \(try await admin.quoteLiteral(name))
            AND \(inThisDatabase);
        ALTER SUBSCRIPTION \(name) ENABLE;
        \(journal)
        COMMIT
        """)
    } catch {
      try? await admin.execute("ROLLBACK")
      // The statement is not quoted: it holds the source's password.
      throw CleaveError(
        .onlineFailed, "the service's database refused the subscription \(name)",
        hint: "on PostgreSQL 15 only a superuser may create a subscription; the target server must reach the "
          + "source at the plan's source address", cause: error)
    }
  }

  /// Drops the subscription `name` without touching its slot (the slot is dropped on the source by name).
  static func drop(_ name: String, on admin: SerialConnection) async throws {
    let exists =
      try await admin.query(
        "SELECT 1 FROM pg_subscription s WHERE subname = $1 AND \(inThisDatabase)", [name]
      ).rows.count > 0
    guard exists else { return }
    try await admin.execute("ALTER SUBSCRIPTION \(name) DISABLE")
    try await admin.execute(
      "BEGIN; ALTER SUBSCRIPTION \(name) SET (slot_name = NONE); DROP SUBSCRIPTION \(name); COMMIT")
  }

  /// Waits until the apply worker of the disabled subscription `name` has ended.
  ///
  /// - Throws: `CleaveError` (`cutoverAborted`) when it is still there at `deadline`.
  static func waitForWorker(_ name: String, on connection: SerialConnection, before deadline: ContinuousClock.Instant)
    async throws
  {
    while try await connection.query(
      """
      SELECT count(*) FROM pg_stat_subscription w JOIN pg_subscription s ON s.oid = w.subid
      WHERE s.subname = $1 AND w.pid IS NOT NULL
        AND \(inThisDatabase)
      """, [name]
    ).scalar != "0" {
      guard ContinuousClock.now < deadline else {
        throw CleaveError(
          .cutoverAborted, "the apply worker of \(name) did not stop within --max-freeze",
          hint: "the database is busy; try again when it is quieter")
      }
      try await Task.sleep(for: .milliseconds(2))
    }
  }
}
