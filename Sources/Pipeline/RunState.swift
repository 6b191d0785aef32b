import CleaveCore
import Foundation

/// What `cleave run` has finished, kept in `.cleave/state.json` next to the plan, so a run that was stopped picks
/// up at the first step without a record.
///
/// The records are a log, not the truth: each step is itself idempotent (provision and copy check the targets,
/// a backup is checked against its manifest before it is trusted), so a lost or stale file costs time, never
/// data.
public struct RunState: Sendable, Codable, Equatable {
  /// One finished step: when, how long it took, and what it left (the backup folder, the config folder).
  public struct Step: Sendable, Codable, Equatable {
    public var finishedAt: String
    public var seconds: Double
    public var detail: String?
  }

  public var steps: [String: Step] = [:]

  public init() {}

  /// `.cleave/state.json` in the plan's folder.
  public static func path(forPlan plan: String) -> String {
    URL(fileURLWithPath: plan).deletingLastPathComponent().path + "/.cleave/state.json"
  }

  /// The state at `path`, or an empty one when there is none.
  ///
  /// - Throws: `CleaveError` when the file exists but cannot be read.
  public static func load(_ path: String) throws(CleaveError) -> RunState {
    guard let data = FileManager.default.contents(atPath: path) else { return RunState() }
    do { return try JSONDecoder().decode(RunState.self, from: data) } catch {
      throw CleaveError(
        .fileWriteFailed, "cannot read \(path): \(error)",
        hint: "delete it: every step checks its own work, so `cleave run` only redoes what it must")
    }
  }

  /// Writes the state atomically.
  ///
  /// - Throws: `CleaveError` when it cannot be written.
  public func save(_ path: String) throws(CleaveError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      try FileManager.default.createDirectory(
        atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
      try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw CleaveError(.fileWriteFailed, "cannot write \(path): \(error.localizedDescription)")
    }
  }
}
