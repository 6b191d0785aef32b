import Synchronization

/// Where a copy reports how it goes.
///
/// A phase starting, how many jobs and bytes each service has, each finished table or range, and the bytes
/// streamed so far. The library says it; the command line shows it (a live bar on a terminal, plain lines
/// otherwise); `SilentProgress` drops it.
public protocol CopyProgress: Sendable {
  /// Bytes streamed so far per service; workers add to it for every chunk, without waiting on anything.
  var bytes: ByteCounters { get }
  /// A phase starting (`catalog: creating tables, types and functions`).
  func say(_ line: String) async
  /// A service's data phase: how many tables have rows left to copy, in how many jobs (a table is one job, or one
  /// per key range), and about how many bytes.
  func plan(service: String, tables: Int, jobs: Int, bytes: Int64) async
  /// A job (a table, or one of its ranges) started on a worker.
  func started(service: String, table: String) async
  /// A job finished; `tableDone` when it was the table's last.
  func finished(service: String, table: String, rows: Int, bytes: Int, tableDone: Bool) async
  /// The data phase is over.
  func stop() async
}

/// A copy's progress, told to no one (library callers, `cleave run`'s own steps).
public struct SilentProgress: CopyProgress {
  public let bytes = ByteCounters()
  public init() {}
  public func say(_ line: String) async {}
  public func plan(service: String, tables: Int, jobs: Int, bytes: Int64) async {}
  public func started(service: String, table: String) async {}
  public func finished(service: String, table: String, rows: Int, bytes: Int, tableDone: Bool) async {}
  public func stop() async {}
}

/// Byte counts per service, added to by every worker for every COPY chunk.
public final class ByteCounters: Sendable {
  private let counts = Mutex<[String: Int]>([:])

  public init() {}

  public func add(_ service: String, _ count: Int) { counts.withLock { $0[service, default: 0] += count } }
  public func value(_ service: String) -> Int { counts.withLock { $0[service] ?? 0 } }
}
