import Copy
import Foundation

/// Tells the person watching how the copy goes, on standard error so standard output stays the summary.
///
/// On a terminal: a live bar per service (percent of bytes, tables, rows, MB, MB/s, ETA), redrawn twice a second
/// from byte counts the workers add as each COPY chunk passes. Without a terminal (CI, pipes): a plain line per
/// finished table or range, and a status line per service every ten seconds. Tables count once, when their last
/// range is in; the jobs (tables or ranges) running now are shown apart.
actor ProgressReporter: CopyProgress {
  private let live: Bool
  private let quiet: Bool
  private var services: [String] = []
  /// Per service: tables finished of those with rows to copy, jobs (tables or key ranges) running now and jobs
  /// left, rows copied.
  private var tables: [String: Counts] = [:]

  private struct Counts {
    var done = 0
    var of = 0
    var running = 0
    var jobsLeft = 0
    var rows = 0
  }
  private var expected: [String: Int64] = [:]
  private var started: [String: Date] = [:]
  private var linesDrawn = 0
  private var ticker: Task<Void, Never>?
  /// Bytes streamed so far per service; workers add to it for every chunk, without waiting on this actor.
  nonisolated let bytes = ByteCounters()

  /// - Parameter quiet: say nothing (for `--format json`).
  init(quiet: Bool = false) {
    self.quiet = quiet
    live = isatty(STDERR_FILENO) == 1
  }

  private func write(_ text: String) {
    guard !quiet else { return }
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// A line of its own (a phase starting); on a terminal it goes above the bars.
  func say(_ line: String) {
    clearBars()
    write(line + "\n")
    drawBars()
  }

  func plan(service: String, tables count: Int, jobs: Int, bytes: Int64) {
    if !services.contains(service) { services.append(service) }
    tables[service, default: Counts()].of += count
    tables[service, default: Counts()].jobsLeft += jobs
    expected[service, default: 0] += bytes
    started[service] = started[service] ?? Date()
    if ticker == nil {
      let interval: Duration = live ? .milliseconds(500) : .seconds(10)
      ticker = Task { [weak self] in
        while !Task.isCancelled {
          try? await Task.sleep(for: interval)
          guard let self else { return }
          await self.tick()
        }
      }
    }
  }

  func started(service: String, table: String) {
    tables[service, default: Counts()].running += 1
  }

  func finished(service: String, table: String, rows: Int, bytes: Int, tableDone: Bool) {
    var entry = tables[service, default: Counts()]
    entry.running = max(0, entry.running - 1)
    entry.jobsLeft = max(0, entry.jobsLeft - 1)
    if tableDone { entry.done += 1 }
    entry.rows += rows
    tables[service] = entry
    if live {
      clearBars()
      drawBars()
    } else {
      write(status(service) + (tableDone ? " (\(table) done)\n" : " (a range of \(table) done)\n"))
    }
  }

  /// Stops the live display, leaving the last bars on screen.
  func stop() {
    ticker?.cancel()
    ticker = nil
    if live {
      clearBars()
      drawBars()
    }
    linesDrawn = 0
  }

  private func tick() {
    if live {
      clearBars()
      drawBars()
    } else {
      for service in services where (tables[service]?.jobsLeft ?? 0) > 0 {
        write(status(service) + "\n")
      }
    }
  }

  private func clearBars() {
    guard live, linesDrawn > 0 else { return }
    write("\u{1B}[\(linesDrawn)A\r\u{1B}[J")
    linesDrawn = 0
  }

  private func drawBars() {
    guard live, !quiet else { return }
    for service in services {
      let fraction = progress(service)
      let width = 20
      let filled = Int(fraction * Double(width))
      let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
      write(String(format: "%@ [%@] %3.0f%% ", service, bar, fraction * 100) + status(service, named: false) + "\n")
    }
    linesDrawn = services.count
  }

  private func progress(_ service: String) -> Double {
    guard let entry = tables[service], entry.of > 0 else { return 1 }
    if entry.jobsLeft == 0 { return 1 }
    let total = Double(max(expected[service] ?? 1, 1))
    return min(0.99, Double(bytes.value(service)) / total)
  }

  private func status(_ service: String, named: Bool = true) -> String {
    let entry = tables[service, default: Counts()]
    let copied = Double(bytes.value(service))
    let elapsed = max(Date().timeIntervalSince(started[service] ?? Date()), 0.001)
    let rate = copied / elapsed / 1_048_576
    let left = max(0, Double(expected[service] ?? 0) - copied) / 1_048_576
    let secondsLeft: Double = rate > 0 ? left / rate : 0
    let eta = entry.jobsLeft > 0 && rate > 0 ? String(format: ", ETA %.0fs", secondsLeft) : ""
    // Ranges are not tables: a table split in ranges counts once, when its last range is in.
    let running = entry.running > 0 ? " (\(entry.running) \(entry.running == 1 ? "job" : "jobs") running)" : ""
    return (named ? "\(service): " : "")
      + "\(entry.done)/\(entry.of) tables\(running), \(entry.rows) rows, "
      + String(format: "%.1f MB, %.1f MB/s", copied / 1_048_576, rate) + eta
  }
}
