import CleaveCore
import Foundation
import PostgresDriver

/// What an earlier copy of a service left running on its target, found by the `application_name` every copy
/// session carries (`cleave copy SERVICE`).
///
/// A copy killed with `kill -9` takes its own connections and children with it, but the server goes on with a
/// statement already sent (an index build, a `pg_restore` step) until it next talks to the client. The next
/// run therefore first takes the service's copy lock (a session-level advisory lock, held by its admin
/// session to the end): if another copy of the service holds it, that copy is alive and this one stops
/// (CLV6006). Holding the lock, any other session with the service's copy name is a leftover of a dead run: it
/// is terminated, and the run says which, before anything is created.
enum EarlierRun {
  /// The `application_name` of every session a copy of `service` opens on its target.
  static func applicationName(_ service: String) -> String {
    String(("cleave copy " + service).utf8.prefix(63)) ?? "cleave copy"
  }

  /// Takes the copy lock of `service` on `admin` and stops the sessions an earlier run left.
  ///
  /// - Returns: one line per session stopped (pid, what it was doing, since when).
  /// - Throws: `CleaveError` (`copyAlreadyRunning`) when a live copy of the service holds the lock.
  static func takeOver(service: String, admin: SerialConnection) async throws -> [String] {
    let name = applicationName(service)
    let taken = try await admin.query("SELECT pg_try_advisory_lock(hashtext($1))", [name]).scalar == "t"
    let others = try await sessions(named: name, on: admin)
    guard taken else {
      throw CleaveError(
        .copyAlreadyRunning,
        "another cleave copy of service \"\(service)\" is running on its database now: "
          + (others.isEmpty ? "(its lock is held)" : others.map(\.text).joined(separator: "; ")),
        hint: "wait for it to finish; two copies of one service would write the same tables")
    }
    guard !others.isEmpty else { return [] }
    for session in others {
      _ = try await admin.query("SELECT pg_terminate_backend($1::int)", [session.pid])
    }
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    while try await !sessions(named: name, on: admin).isEmpty {
      guard clock.now < deadline else {
        throw CleaveError(
          .copyFailed,
          "sessions an earlier copy of \"\(service)\" left running did not end within 60 s of being terminated: "
            + others.map(\.text).joined(separator: "; "),
          hint: "end them on the server (pg_terminate_backend), then run copy again")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    return others.map(\.text)
  }

  private static func sessions(named name: String, on admin: SerialConnection) async throws -> [(
    pid: String, text: String
  )] {
    try await admin.query(
      """
      SELECT pid, coalesce(state, '') AS state, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query,
        coalesce(to_char(query_start, 'YYYY-MM-DD HH24:MI:SS'), '') AS since
      FROM pg_stat_activity
      WHERE application_name = $1 AND datname = current_database() AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'
      ORDER BY pid
      """, [name]
    ).namedRows.map { row in
      (
        row.string("pid"),
        "pid \(row.string("pid")) (\(row.string("state")) since \(row.string("since")): \(row.string("query")))"
      )
    }
  }
}
