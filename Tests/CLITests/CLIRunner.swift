import CleaveTestSupport
import Foundation

/// Runs the built `cleave` binary and collects what it printed and how it exited.
enum CLIRunner {
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The `cleave` binary next to this test bundle (`swift build` puts them in the same folder).
  static var binary: String {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = folder.appendingPathComponent("cleave").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      folder.deleteLastPathComponent()
    }
    return ".build/debug/cleave"
  }

  /// Starts `cleave` with its output thrown away, for a test that kills it while it works.
  static func start(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  /// Runs the binary to its end and returns what it printed and how it exited.
  ///
  /// The process is run, read and waited for on threads of its own, never on Swift's cooperative ones: on a
  /// two-core machine a few tests blocked in `waitUntilExit` would otherwise take every cooperative thread, and a
  /// test waiting for its command to reach a lock could never run the step that lets the command go on.
  static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return await withCheckedContinuation { continuation in
      Thread.detachNewThread {
        let group = DispatchGroup()
        let collected = Collected()
        for (pipe, isError) in [(out, false), (err, true)] {
          group.enter()
          Thread.detachNewThread {
            collected.set(pipe.fileHandleForReading.readDataToEndOfFile(), isError: isError)
            group.leave()
          }
        }
        group.wait()
        process.waitUntilExit()
        continuation.resume(
          returning: Output(
            status: process.terminationStatus, stdout: String(decoding: collected.stdout, as: UTF8.self),
            stderr: String(decoding: collected.stderr, as: UTF8.self)))
      }
    }
  }

  /// Both streams of a run, filled by two reading threads.
  private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    func set(_ data: Data, isError: Bool) {
      lock.withLock { if isError { err = data } else { out = data } }
    }
    var stdout: Data { lock.withLock { out } }
    var stderr: Data { lock.withLock { err } }
  }
}

extension CLIRunner {
  /// Runs the binary and kills it (SIGKILL) as soon as its standard error (or, with `watchingOutput`, its
  /// standard output) contains `marker`, watched on Foundation's own queue rather than on a timer.
  ///
  /// - Returns: whether the kill landed (false: it ended first), and what it printed on the watched stream.
  static func runKilled(
    on marker: String, _ arguments: [String], environment: [String: String] = [:], watchingOutput: Bool = false
  ) throws -> (killed: Bool, text: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let watched = Pipe()
    process.standardOutput = watchingOutput ? watched : FileHandle.nullDevice
    process.standardError = watchingOutput ? FileHandle.nullDevice : watched
    let watcher = KillOnOutput(marker: marker)
    watched.fileHandleForReading.readabilityHandler = { watcher.read($0) }
    try process.run()
    watcher.watch(process.processIdentifier)
    process.waitUntilExit()
    watched.fileHandleForReading.readabilityHandler = nil
    return (process.terminationReason == .uncaughtSignal, watcher.text)
  }
}
