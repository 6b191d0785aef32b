import Foundation
import PostgresDriver

/// `pgbench` running a custom script in the background: the application of the online tests and the benchmark,
/// a process of its own, so its pace does not depend on the test's threads.
///
/// `stop()` ends it with SIGKILL (a transaction in flight is rolled back, as for any client that goes away; a
/// child of a test process may inherit SIGTERM blocked);
/// `wait()` lets a run with a duration finish and returns its summary.
public final class Pgbench: @unchecked Sendable {
  private let process: Process
  private let outputPath: String
  private let lock = NSLock()

  /// What pgbench reported at the end of a run that finished on its own.
  public struct Summary: Sendable {
    /// "number of transactions actually processed".
    public var processed: Int
    /// "number of failed transactions" (serialization or deadlock failures that were not retried).
    public var failed: Int
    /// Every line it printed, for messages.
    public var text: String
  }

  /// Starts `pgbench -n -f SCRIPT` against `database` (`-c clients`, `-R rate` when given, for `seconds`).
  ///
  /// - Throws: `SandboxError` when pgbench cannot be started.
  public init(
    database: ConnInfo, script: String, clients: Int = 1, rate: Int? = nil, seconds: Int = 600,
    folder: String
  ) throws {
    let binaries = try PostgresBinaries.locate()
    let name = "pgbench-" + UUID().uuidString.prefix(8)
    let scriptPath = folder + "/\(name).sql"
    outputPath = folder + "/\(name).out"
    try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binaries.path("pgbench"))
    process.arguments =
      ["-n", "-f", scriptPath, "-c", "\(clients)", "-j", "\(clients)", "-T", "\(seconds)"]
      + (rate.map { ["-R", "\($0)"] } ?? []) + [database.flattened]
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    self.process = process
  }

  /// Ends pgbench now.
  public func stop() {
    lock.lock()
    defer { lock.unlock() }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  /// Waits for pgbench to finish its duration, off Swift's cooperative threads.
  ///
  /// - Returns: its summary.
  public func wait() async -> Summary {
    let process = self.process
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async {
        process.waitUntilExit()
        continuation.resume()
      }
    }
    let text = output
    func number(after label: String) -> Int {
      guard let line = text.split(separator: "\n").first(where: { $0.contains(label) }),
        let value = line.split(separator: ":").last?.split(separator: " ").first.flatMap({ Int($0) })
      else { return -1 }
      return value
    }
    return Summary(
      processed: number(after: "number of transactions actually processed"),
      failed: number(after: "number of failed transactions"), text: text)
  }

  /// Everything pgbench printed so far: its errors as they happen (a failed transaction prints `ERROR` and, without
  /// retries, ends its client: `aborted`), and its summary at the end of a timed run.
  public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

  deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}
