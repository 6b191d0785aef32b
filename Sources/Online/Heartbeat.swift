import CleaveCore
import PostgresDriver

/// The service's heartbeat: a row inserted on one side and waited for on the other.
///
/// The stream applies commits in their order, so once the row is there every transaction committed before it is
/// applied too.
enum Heartbeat {
  /// Inserts a heartbeat row of `service` on `side` and deletes the older ones there, in one transaction (so that
  /// once the new row is seen elsewhere, the deletion is there too), committed synchronously: a WAL sender sends
  /// only flushed WAL, so an asynchronous commit would wait for the WAL writer before it could travel.
  ///
  /// A beat is the microseconds since 1970 on `side`, bumped past the newest row there: rows inserted on the two
  /// sides of a stream never share a number.
  ///
  /// - Returns: its number.
  static func beat(_ service: String, on side: SerialConnection) async throws -> Int64? {
    try await side.execute("BEGIN; SET LOCAL synchronous_commit = on")
    do {
      let beat = try await side.query(
        """
        WITH next AS (
          SELECT greatest((extract(epoch FROM clock_timestamp()) * 1000000)::int8,
            (SELECT coalesce(max(beat), 0) + 1 FROM _cleave_online.heartbeat WHERE service = $1)) AS beat),
        gone AS (
          DELETE FROM _cleave_online.heartbeat WHERE service = $1 AND beat < (SELECT beat FROM next))
        INSERT INTO _cleave_online.heartbeat (service, beat, at)
        SELECT $1, beat, clock_timestamp() FROM next
        RETURNING beat
        """, [service]
      ).scalar.flatMap { Int64($0) }
      try await side.execute("COMMIT")
      return beat
    } catch {
      try? await side.execute("ROLLBACK")
      throw error
    }
  }

  /// Waits until heartbeat `beat` of `service` is on `side`, polling every `every`.
  ///
  /// - Returns: how long it took; nil when it did not arrive within `timeout`.
  static func wait(
    for beat: Int64, of service: String, on side: SerialConnection, timeout: Duration,
    every: Duration = .milliseconds(10)
  ) async throws -> Duration? {
    let clock = ContinuousClock()
    let started = clock.now
    while clock.now - started < timeout {
      let arrived = try await side.query(
        "SELECT EXISTS (SELECT FROM _cleave_online.heartbeat WHERE service = $1 AND beat >= $2::int8)",
        [service, String(beat)]
      ).scalar
      if arrived == "t" { return clock.now - started }
      try await Task.sleep(for: every)
    }
    return nil
  }

  /// The gate's lag check: waits up to 30 s for a first heartbeat to cross from `from` to `to` (a subscription
  /// just enabled gets its apply worker within `wal_retrieve_retry_interval`, 5 s by default), then requires each
  /// one to cross within a second for `steady`.
  ///
  /// - Returns: the longest crossing after the first.
  /// - Throws: `CleaveError` (`onlineRefused`) naming `stream` when a heartbeat is late.
  static func steady(
    _ service: String, from: SerialConnection, to: SerialConnection, for steady: Duration, stream: String
  ) async throws -> Duration {
    guard let first = try await beat(service, on: from),
      try await wait(for: first, of: service, on: to, timeout: .seconds(30)) != nil
    else {
      throw CleaveError(
        .onlineRefused, "the \(stream) of \"\(service)\" did not catch up within 30 s, or is stopped",
        hint: "`cleave online status` shows it")
    }
    let clock = ContinuousClock()
    let began = clock.now
    var worst = Duration.zero
    repeat {
      guard let next = try await beat(service, on: from),
        let lag = try await wait(for: next, of: service, on: to, timeout: .seconds(1))
      else {
        throw CleaveError(
          .onlineRefused, "the \(stream) of \"\(service)\" lags by more than a second",
          hint: "switch when `cleave online status` shows a lag under a second")
      }
      worst = max(worst, lag)
      if clock.now - began < steady { try await Task.sleep(for: .milliseconds(200)) }
    } while clock.now - began < steady
    return worst
  }
}
