import Catalog
import Foundation
import PostgresDriver
import PostgresTools

/// What the `snapshot` phase of a copy sets up for the others: the run's own work folder, the snapshot, a
/// connection reading in it, the source's catalog as of that instant, and the schema dump taken in it.
struct CopyContext: Sendable {
  let workDirectory: String
  let snapshot: SourceSnapshot
  let reader: SerialConnection
  let catalog: DatabaseCatalog
  let archive: SchemaArchive

  /// Ends the reading transaction and lets the snapshot go.
  func release() async {
    try? await reader.execute("COMMIT")
    await reader.close()
    await snapshot.release()
  }
}

/// Seconds per named phase, each phase timed from the end of the one before, and the phases as timeline events.
struct PhaseTimer {
  private let clock = ContinuousClock()
  /// When the run started: every event of its timeline counts from here.
  let origin: ContinuousClock.Instant
  private var start: ContinuousClock.Instant
  private(set) var seconds: [String: Double] = [:]
  private(set) var events: [CopySummary.TimelineEvent] = []

  init() {
    origin = clock.now
    start = origin
  }

  /// Ends `phase` now, or at `instant` when it ended earlier than the next phase's start.
  mutating func end(_ phase: String, at instant: ContinuousClock.Instant? = nil) {
    let end = instant ?? clock.now
    seconds[phase] = (end - start).inSeconds
    events.append(
      .init(
        service: "", table: "", kind: "phase", label: phase, worker: -1, start: (start - origin).inSeconds,
        end: (end - origin).inSeconds))
    start = end
  }
}
