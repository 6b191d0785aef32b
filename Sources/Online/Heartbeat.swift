import PostgresDriver

/// The service's heartbeat: a row inserted on one side and waited for on the other.
///
/// The stream applies commits in their order, so once the row is there every transaction committed before it is
/// applied too.
enum Heartbeat {
  /// Inserts the next heartbeat row of `service` on `side` and deletes the older ones there, in one transaction
  /// (so that once the new row is seen elsewhere, the deletion is there too).
  ///
  /// - Returns: its number.
  static func beat(_ service: String, on side: SerialConnection) async throws -> Int64? {
    try await side.query(
      """
      WITH next AS (
        SELECT coalesce(max(beat), 0) + 1 AS beat FROM _cleave_online.heartbeat WHERE service = $1),
      gone AS (
        DELETE FROM _cleave_online.heartbeat WHERE service = $1 AND beat < (SELECT beat FROM next))
      INSERT INTO _cleave_online.heartbeat (service, beat, at)
      SELECT $1, beat, clock_timestamp() FROM next
      RETURNING beat
      """, [service]
    ).scalar.flatMap { Int64($0) }
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
}
