import Catalog
import CleaveCore
import PostgresDriver
import PostgresTools

/// One copy worker: a source session inside the copy's snapshot and a session per service database, all on one
/// thread of its own, streaming COPY bytes from one to the other without parsing a row.
///
/// Memory stays flat: one chunk is in flight at a time, whatever the table's size.
actor CopyWorker {
  private let executor = QueueExecutor(label: "cleave.copy-worker")
  nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
  private var source: Connection?
  private var targets: [String: Connection] = [:]

  /// Opens the source session and joins the snapshot.
  func open(source info: ConnInfo, snapshot: String) throws {
    let connection: Connection
    do { connection = try Connection(info, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    try connection.execute(SessionSettings.sql)
    try connection.execute(
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(try connection.quoteLiteral(snapshot))"
    )
    source = connection
  }

  /// Ends the source session, releasing the snapshot's hold on the source.
  func closeSource() {
    try? source?.execute("COMMIT")
    source = nil
  }

  /// Closes the session to one service's database (before it is dropped or moved).
  func closeTarget(_ service: String) { targets[service] = nil }

  func closeAll() {
    closeSource()
    targets = [:]
  }

  private func target(_ service: String, _ info: ConnInfo) throws -> Connection {
    if let open = targets[service] { return open }
    let connection: Connection
    do { connection = try Connection(info) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service)\"")
    }
    try connection.execute(SessionSettings.sql)
    targets[service] = connection
    return connection
  }

  /// Copies one job in one target transaction that also records its progress step.
  func copy(_ job: TableJob, into info: ConnInfo, counters: ByteCounters) throws -> (rows: Int, bytes: Int) {
    guard let source else { throw CleaveError(.copyFailed, "the copy worker has no source session") }
    let target = try target(job.service, info)
    do {
      try target.execute("BEGIN")
      var bytes = 0
      var unreported = 0
      // A whole table, or the first range of one before any other, is emptied in this transaction (a job that did
      // not finish rolled back, so it is empty) and loaded with FREEZE: its pages are written frozen and with their
      // hint bits, so neither the first reads nor vacuum rewrite them. Where the role may not truncate it, the load
      // goes on without FREEZE.
      var frozen = false
      if job.freezes {
        try target.execute("SAVEPOINT cleave_freeze")
        do {
          try target.execute("TRUNCATE ONLY \(job.table.quoted)")
          try target.execute("RELEASE SAVEPOINT cleave_freeze")
          frozen = true
        } catch {
          try target.execute("ROLLBACK TO SAVEPOINT cleave_freeze")
        }
      }
      let settings = (job.format == .binary ? ["FORMAT binary"] : []) + (frozen ? ["FREEZE"] : [])
      let options = job.format == .binary ? " (FORMAT binary)" : ""
      let loadOptions = settings.isEmpty ? "" : " (" + settings.joined(separator: ", ") + ")"
      let rows = try target.copyIn(job.copyIn + loadOptions) { writer in
        // libpq hands over one row per chunk: count locally, tell the progress display once per MiB.
        bytes = try source.copyOut("COPY (\(job.copyOut)) TO STDOUT\(options)") { chunk in
          try writer.write(chunk)
          unreported += chunk.count
          if unreported >= 1 << 20 {
            counters.add(job.service, unreported)
            unreported = 0
          }
        }
      }
      counters.add(job.service, unreported)
      try target.execute(
        try ProgressStore.record(job.step, rows: rows, bytes: bytes, detail: job.signature, on: target) + "; COMMIT")
      return (rows, bytes)
    } catch {
      try? target.execute("ROLLBACK")
      throw CleaveError(
        .copyFailed, "copying \(job.table) of service \"\(job.service)\" failed",
        hint: "fix the cause, then run the same command again: it resumes where it stopped", cause: error)
    }
  }

  /// Runs one schema step (an index, a constraint, a trigger…) in a transaction that records it.
  func run(_ sql: String, step: String, service: String, into info: ConnInfo, settings: String? = nil) throws {
    let target = try target(service, info)
    do {
      try target.execute("BEGIN")
      if let settings { try target.execute(settings) }
      try target.execute(sql)
      try target.execute("SET search_path = pg_catalog, public")
      try target.execute(try ProgressStore.record(step, on: target) + "; COMMIT")
    } catch {
      try? target.execute("ROLLBACK")
      let orphans = (error as? PostgresError)?.sqlState == "23503"
      throw CleaveError(
        .schemaCopyFailed, "\(Self.describe(step)) of service \"\(service)\" failed",
        hint: orphans
          ? "rows of the table point at rows a filter left out of the table they reference: filter it the same "
            + "way, or give its transform `on_orphan: drop` or `keep-as-soft-reference` (docs/plan-file.md), then "
            + "run the same command again"
          : "fix the cause (a constraint the data breaks, a full disk), then run the same command again",
        cause: error)
    }
  }

  /// Gathers a table's statistics (`ANALYZE`), once its indexes are built.
  func analyze(_ table: QualifiedName, service: String, into info: ConnInfo) throws {
    let target = try target(service, info)
    do { try target.execute("ANALYZE \(table.quoted)") } catch {
      throw CleaveError(
        .copyFailed, "gathering statistics of \(table) in service \"\(service)\" failed",
        hint: "run the same command again", cause: error)
    }
  }

  /// A schema step in words: `post FK CONSTRAINT public Item Item_orderId_fkey postgres` is `creating foreign key
  /// Item_orderId_fkey on public.Item`; a step it cannot read as one is shown as it is.
  static func describe(_ step: String) -> String {
    let kinds = [
      ("FK CONSTRAINT", "foreign key"), ("CHECK CONSTRAINT", "check constraint"), ("CONSTRAINT", "constraint"),
      ("INDEX", "index"), ("TRIGGER", "trigger"),
    ]
    for (kind, words) in kinds where step.hasPrefix("post \(kind) ") {
      let parts = step.dropFirst("post \(kind) ".count).split(separator: " ")
      guard parts.count == 4 || (kind == "INDEX" && parts.count == 3) else { break }
      return parts.count == 4
        ? "creating \(words) \(parts[2]) on \(parts[0]).\(parts[1])" : "creating \(words) \(parts[0]).\(parts[1])"
    }
    return step
  }

  /// Runs a query on the source, inside the snapshot.
  func querySource(_ sql: String) throws -> QueryResult {
    guard let source else { throw CleaveError(.copyFailed, "the copy worker has no source session") }
    return try source.query(sql)
  }
}
