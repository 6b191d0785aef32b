import Foundation

/// Tells the person watching how the copy goes: a live line per service on a terminal, plain lines otherwise
/// (CI, pipes), on standard error so standard output stays the summary.
public actor ProgressReporter {
  private let live: Bool
  private let quiet: Bool
  private var totals: [String: (rows: Int, bytes: Int, done: Int, of: Int)] = [:]
  /// The on-disk size of what is left to copy, for the ETA (COPY text is usually a little smaller).
  private var expectedBytes: Int64 = 0
  private let started = Date()

  /// - Parameter quiet: say nothing (for `--format json` consumers that read standard error too).
  public init(quiet: Bool = false) {
    self.quiet = quiet
    live = isatty(STDERR_FILENO) == 1
  }

  func say(_ line: String) {
    guard !quiet else { return }
    FileHandle.standardError.write(Data(((live ? "\r\u{1B}[K" : "") + line + "\n").utf8))
  }

  func plan(service: String, jobs: Int, bytes: Int64) {
    totals[service, default: (0, 0, 0, 0)].of += jobs
    expectedBytes += bytes
  }

  func finished(service: String, table: String, rows: Int, bytes: Int) {
    var entry = totals[service, default: (0, 0, 0, 0)]
    entry.rows += rows
    entry.bytes += bytes
    entry.done += 1
    totals[service] = entry
    let elapsed = max(Date().timeIntervalSince(started), 0.001)
    let copied = Double(totals.values.reduce(0) { $0 + $1.bytes })
    let rate = copied / elapsed / 1_048_576
    let left = max(0, Double(expectedBytes) - copied) / 1_048_576
    let eta = rate > 0 && totals.values.contains { $0.done < $0.of } ? String(format: ", ETA ~%.0fs", left / rate) : ""
    let status =
      "\(service): \(entry.done)/\(entry.of) tables, \(entry.rows) rows, "
      + String(format: "%.1f MB, %.1f MB/s", Double(entry.bytes) / 1_048_576, rate) + eta
    if live {
      guard !quiet else { return }
      FileHandle.standardError.write(Data(("\r\u{1B}[K" + status + " (last: \(table))").utf8))
      if entry.done == entry.of { FileHandle.standardError.write(Data("\n".utf8)) }
    } else {
      say(status + " (\(table) done)")
    }
  }
}
