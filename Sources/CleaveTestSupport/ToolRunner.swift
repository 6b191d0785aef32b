import Foundation
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// Runs the PostgreSQL programs (initdb, pg_ctl, psql) that tests and the demo need, as the right OS user.
///
/// The server refuses to run as root, so when Cleave runs as root the server programs run as `postgres`, through
/// `runuser` (util-linux). Changing the user in the forked child instead (swift-subprocess's `userID`) makes
/// glibc's `setgroups` wait for every thread of the parent, which deadlocks a busy multi-threaded test process.
public enum ToolRunner {
  /// What a finished program printed, and whether it exited 0.
  public struct Outcome: Sendable {
    public var succeeded: Bool
    public var standardOutput: String
    public var standardError: String
  }

  /// Runs `tool` with `arguments`, as `user` (uid, gid) when given, and collects its output.
  public static func run(
    _ tool: String, _ arguments: [String], as user: (uid: UInt32, gid: UInt32)? = nil,
    environment: [String: String] = [:]
  ) async throws -> Outcome {
    var executable = tool
    var arguments = arguments
    if let user, let entry = getpwuid(user.uid) {
      arguments = ["-u", String(cString: entry.pointee.pw_name), "--", tool] + arguments
      executable = "/usr/sbin/runuser"
    }
    var updates: [Environment.Key: String?] = [:]
    for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
    let result = try await Subprocess.run(
      executable.contains("/") ? .path(FilePath(executable)) : .name(executable),
      arguments: Arguments(arguments),
      environment: .inherit.updating(updates),
      workingDirectory: FilePath(NSTemporaryDirectory()),
      output: .string(limit: 1 << 24),
      error: .string(limit: 1 << 24))
    return Outcome(
      succeeded: result.terminationStatus.isSuccess, standardOutput: result.standardOutput,
      standardError: result.standardError)
  }
}
