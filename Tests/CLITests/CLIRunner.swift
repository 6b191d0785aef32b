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
    async let stdout = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
    async let stderr = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
    let (outData, errData) = await (stdout, stderr)
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
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
