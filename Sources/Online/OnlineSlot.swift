import CleaveCore
import PostgresDriver

/// A logical replication slot on the source, created over a replication connection so that it exports the
/// snapshot at its consistent point: the seed is copied in that snapshot and the stream starts at that point, so
/// no change is missed or applied twice between them.
///
/// The exported snapshot lives only while the creating connection stays open and idle: `close()` it once every
/// session of the seed has imported it (the copy's end).
public final class OnlineSlot: Sendable {
  public let name: String
  /// The WAL position from which the slot decodes: every transaction committed after it is streamed, every one
  /// committed before it is in the snapshot.
  public let consistentPoint: String
  /// The snapshot to copy the seed in (`SET TRANSACTION SNAPSHOT`, `pg_dump --snapshot`).
  public let snapshot: String
  private let connection: SerialConnection

  private init(name: String, consistentPoint: String, snapshot: String, connection: SerialConnection) {
    self.name = name
    self.consistentPoint = consistentPoint
    self.snapshot = snapshot
    self.connection = connection
  }

  /// The `application_name` of the session that creates the slot of `service`.
  static func applicationName(_ service: String) -> String {
    String(("cleave online start " + service).utf8.prefix(63)) ?? "cleave online start"
  }

  /// Creates the slot `name` (plugin `pgoutput`) and keeps its exported snapshot open.
  ///
  /// - Throws: `CleaveError` when the source refuses the replication connection or the slot.
  static func create(_ name: String, service: String, source: ConnInfo) async throws -> OnlineSlot {
    let connection: SerialConnection
    do {
      connection = try await SerialConnection.connect(
        source.replication.with("application_name", applicationName(service)))
    } catch {
      throw CleaveError(
        connecting: error,
        role: "source (a replication connection: the role needs REPLICATION, and "
          + "pg_hba.conf a line for it)")
    }
    do {
      let row = try await connection.unmarkedCommand(
        "CREATE_REPLICATION_SLOT \(name) LOGICAL pgoutput (SNAPSHOT 'export')"
      ).namedRows.first
      guard let row, let point = row["consistent_point"], let snapshot = row["snapshot_name"] else {
        throw CleaveError(.onlineFailed, "the source created slot \(name) but returned no consistent point")
      }
      return OnlineSlot(name: name, consistentPoint: point, snapshot: snapshot, connection: connection)
    } catch let error as CleaveError {
      await connection.close()
      throw error
    } catch {
      await connection.close()
      throw CleaveError(
        .onlineFailed, "the source refused to create the replication slot \(name)",
        hint: "`cleave online check` says whether a slot is free and wal_level is logical", cause: error)
    }
  }

  /// Ends the creating session: the snapshot goes, the slot stays.
  public func close() async { await connection.close() }

  /// Drops the slot `name` from the source if it exists, first ending a session a killed run left on it.
  ///
  /// - Throws: `CleaveError` when the slot stays in use by another session for 30 s.
  static func drop(_ name: String, service: String, on source: SerialConnection) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(30)
    while true {
      let row = try await source.query(
        """
        SELECT s.active_pid::text AS pid, a.application_name AS app
        FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
        WHERE s.slot_name = $1
        """, [name]
      ).namedRows.first
      guard let row else { return }
      guard let pid = row["pid"] else {
        try await source.query("SELECT pg_drop_replication_slot($1)", [name])
        return
      }
      // The session that made the slot for a run that is gone (the caller holds the service's lock).
      if row["app"] == applicationName(service) {
        try await source.query("SELECT pg_terminate_backend($1::int)", [pid])
      }
      guard clock.now < deadline else {
        throw CleaveError(
          .onlineBusy, "the replication slot \(name) on the source is in use by process \(pid)",
          hint: "a subscription or another program reads it; stop that first")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  /// Makes the logical slot `name` (`pgoutput`) on `connection`'s database with SQL, no snapshot, waiting at most
  /// `within` (making a slot waits for every transaction running on the server).
  ///
  /// - Returns: the slot's consistent point.
  /// - Throws: `CleaveError` (`cutoverAborted`) when it is not made in time.
  static func make(_ name: String, on connection: SerialConnection, within: Duration) async throws -> String? {
    let milliseconds = max(1, Int(within.inSeconds * 1000))
    do {
      try await connection.execute("BEGIN; SET LOCAL lock_timeout = '\(milliseconds)ms'")
      let point = try await connection.query(
        "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", [name]
      ).scalar
      try await connection.execute("COMMIT")
      return point
    } catch {
      try? await connection.execute("ROLLBACK")
      throw CleaveError(
        .cutoverAborted, "the replication slot \(name) could not be made within --max-freeze",
        hint: "making a slot waits for every transaction running on that server; switch when none runs long",
        cause: error)
    }
  }
}
