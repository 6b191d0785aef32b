import CleaveCore
import Foundation
import Logging
import PostgresDriver

/// What a killed deploy can leave in a service database: an index build still running on the server
/// (`CREATE INDEX CONCURRENTLY` goes on after its client died, until it next talks to it), and an index that build
/// left invalid (`indisvalid = false`) when it was cancelled or failed.
///
/// A deploy checks both before it applies anything: it waits for a build of an earlier deploy (found by the
/// `application_name` every deploy session carries) and says so, and it stops on an invalid index with the
/// statement that clears it. Running the migration again instead would wait on the old build's lock while the old
/// build waits for the new transaction: a deadlock that records the migration failed and half applied.
enum LeftBehind {
  /// The problem to report, or nil when the database is clear.
  static func check(on work: SerialConnection, wait: Duration, logger: Logger) async throws -> String? {
    let clock = ContinuousClock()
    let deadline = clock.now + wait
    var said = false
    while true {
      let builds = try await work.query(
        """
        SELECT a.pid, a.query_start::text AS since, p.phase, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 100) AS query
        FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
        WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND a.pid <> pg_backend_pid() AND a.application_name = $1
        ORDER BY a.pid
        """, [Migrator.applicationName]
      ).namedRows.map { row in
        "pid \(row.string("pid")) (\(row.string("phase")) since \(row.string("since")): \(row.string("query")))"
      }
      if builds.isEmpty { break }
      if !said {
        logger.warning(
          "waiting for an index build an earlier deploy left running", metadata: ["builds": "\(builds)"])
        said = true
      }
      guard clock.now < deadline else {
        return "an index build of an earlier deploy is still running: " + builds.joined(separator: "; ")
          + "; wait for it (or cancel it with pg_cancel_backend), then deploy again"
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    let invalid = try await work.query(
      """
      SELECT format('%I.%I', n.nspname, c.relname) AS name, format('%I.%I', n.nspname, t.relname) AS tbl
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%'
        AND i.indexrelid NOT IN (SELECT index_relid FROM pg_stat_progress_create_index WHERE index_relid IS NOT NULL)
      ORDER BY 1
      """
    ).namedRows
    guard !invalid.isEmpty else { return nil }
    return "invalid index "
      + invalid.map { "\($0.string("name")) on \($0.string("tbl"))" }.joined(separator: ", ")
      + " (left by a CREATE INDEX CONCURRENTLY that did not finish; it is not used by queries but is still "
      + "updated by every write): drop it with "
      + invalid.map { "DROP INDEX CONCURRENTLY \($0.string("name"))" }.joined(separator: "; ")
      + ", then deploy again"
  }
}
