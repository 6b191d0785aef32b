import CleaveCore
import Foundation
import PostgresDriver

/// Creates a service's indexes, constraints, foreign keys within the service and triggers after its data, in
/// parallel on the copy's workers, each in its own transaction with its progress step.
///
/// Entries run in three waves so that each finds what it needs: indexes and keys; then the attachment of
/// partition indexes to their parent's; then foreign keys, triggers and the rest. Foreign keys to another
/// service's tables are not created: they are soft references now.
struct PostDataRestore {
  let archive: SchemaArchive
  let selection: SchemaSelection
  let state: ServiceState
  let workDirectory: String
  let reporter: any CopyProgress

  /// Returns how many steps the service has.
  func run(workers: [CopyWorker]) async throws -> Int {
    let kept = archive.postData.filter(selection.includes)
    let waves: [[TOCEntry]] = [
      kept.filter { ["INDEX", "CONSTRAINT"].contains($0.kind) },
      kept.filter { $0.kind == "INDEX ATTACH" },
      kept.filter { !["INDEX", "CONSTRAINT", "INDEX ATTACH"].contains($0.kind) },
    ]
    let service = state.plan.name
    let todo = kept.filter { state.finished[Self.step($0)] == nil }.count
    if todo > 0 { await reporter.say("\(service): creating \(todo) indexes, constraints and triggers") }
    for wave in waves {
      var steps: [(sql: String, step: String)] = []
      for entry in wave where state.finished[Self.step(entry)] == nil {
        let sql = try await archive.sql(of: entry, listFile: workDirectory + "/\(service)-entry-\(entry.dumpID).list")
        steps.append((sql, Self.step(entry)))
      }
      let queue = StepQueue(steps)
      let target = state.target.database
      try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in workers {
          group.addTask {
            while let next = await queue.next() {
              try await worker.run(next.sql, step: next.step, service: service, into: target)
            }
          }
        }
        try await group.waitForAll()
      }
    }
    return kept.count
  }

  /// The progress step of an entry: its description without the dump id and OIDs, which can differ between
  /// dumps (`post INDEX public idx_actor_last_name postgres`).
  static func step(_ entry: TOCEntry) -> String {
    let parts = entry.line.split(separator: " ", maxSplits: 3)
    return "post " + (parts.count == 4 ? String(parts[3]) : entry.line)
  }
}

/// Hands out schema steps to workers, one at a time.
actor StepQueue {
  private var steps: [(sql: String, step: String)]
  init(_ steps: [(sql: String, step: String)]) { self.steps = steps.reversed() }
  func next() -> (sql: String, step: String)? { steps.popLast() }
}
