import CleaveCore
import PostgresDriver

/// One exported snapshot of the source: every worker, `pg_dump` included, reads the same instant through it.
///
/// The exporting session holds a `REPEATABLE READ READ ONLY` transaction open until `release()`, which the copy
/// calls as soon as the data is read, so the snapshot does not hold back the source's vacuum during index builds.
public actor SourceSnapshot {
  private let connection: SerialConnection
  /// The id workers pass to `SET TRANSACTION SNAPSHOT` and `pg_dump --snapshot`.
  public nonisolated let id: String

  private init(connection: SerialConnection, id: String) {
    self.connection = connection
    self.id = id
  }

  /// Opens a read-only session on the source and exports its snapshot.
  ///
  /// - Throws: `CleaveError` when the source cannot be reached or refuses.
  public static func export(from source: ConnInfo) async throws -> SourceSnapshot {
    let connection = try await session(on: source)
    do {
      try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      let id = try await connection.query("SELECT pg_export_snapshot()").scalar ?? ""
      return SourceSnapshot(connection: connection, id: id)
    } catch {
      throw CleaveError(.sourceQueryFailed, "cannot export a snapshot of the source", cause: error)
    }
  }

  /// Joins a snapshot another session exported and holds open (`cleave snapshot`, or `pg_export_snapshot()` in the
  /// team's own session), so that a copy and a later verify read the same instant of a source still taking writes.
  ///
  /// - Throws: `CleaveError` when the source cannot be reached or the snapshot is gone.
  public static func adopt(_ id: String, from source: ConnInfo) async throws -> SourceSnapshot {
    let connection = try await session(on: source)
    let snapshot = SourceSnapshot(connection: connection, id: id)
    do {
      try await connection.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(try await connection.quoteLiteral(id))"
      )
    } catch {
      throw CleaveError(
        .sourceQueryFailed, "cannot use the source snapshot \(id)",
        hint: "a snapshot lives only while the session that exported it keeps its transaction open; "
          + "keep `cleave snapshot` running until the copy and the verify are done", cause: error)
    }
    return snapshot
  }

  /// A new read-only source session inside this snapshot, for one worker.
  ///
  /// - Throws: `CleaveError` when the source refuses the connection or the snapshot.
  public nonisolated func join(_ source: ConnInfo) async throws -> SerialConnection {
    let worker = try await Self.session(on: source)
    do {
      try await worker.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(try await worker.quoteLiteral(id))"
      )
    } catch {
      throw CleaveError(.sourceQueryFailed, "cannot join the source snapshot \(id)", cause: error)
    }
    return worker
  }

  /// A read-only session on the source with Cleave's session settings.
  ///
  /// - Throws: `CleaveError` when the source cannot be reached, or refuses the settings.
  static func session(on source: ConnInfo) async throws -> SerialConnection {
    let connection: SerialConnection
    do { connection = try await SerialConnection.connect(source, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    do { try await connection.execute(SessionSettings.sql) } catch {
      await connection.close()
      throw CleaveError(.sourceQueryFailed, "the source refused Cleave's session settings", cause: error)
    }
    return connection
  }

  /// Ends the exporting transaction; sessions that joined keep their view until they end.
  public func release() async {
    try? await connection.execute("COMMIT")
    await connection.close()
  }
}
