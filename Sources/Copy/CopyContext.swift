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

/// Seconds per named phase, each phase timed from the end of the one before.
struct PhaseTimer {
  private let clock = ContinuousClock()
  private var start: ContinuousClock.Instant
  private(set) var seconds: [String: Double] = [:]

  init() { start = clock.now }

  mutating func end(_ phase: String) {
    let elapsed = clock.now - start
    seconds[phase] = elapsed.inSeconds
    start = clock.now
  }
}
