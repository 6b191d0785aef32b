import CleaveCore

/// The copy's work after the schema as a graph: each task starts once the tasks it needs are done, and of the
/// tasks ready, a worker takes the one with the longest chain of work still behind it.
///
/// This is what overlaps the phases: a table's indexes build while other tables still copy, its foreign keys
/// follow once both of their tables are keyed, and its statistics once nothing else will lock it. Choosing by the
/// longest remaining chain (critical-path list scheduling) starts the biggest table's rows, then its indexes, first,
/// so that the cores are not left waiting at the end on one long build.
actor WorkGraph {
  /// One task and where it stands.
  private struct Node {
    var task: CopyTask
    var needs: Set<Int>
    var cost: Double
    var chain: Double = 0
    var state = State.waiting
    var event: CopySummary.TimelineEvent?
  }

  private enum State { case waiting, running, done }

  private var nodes: [Node] = []
  private var dependents: [[Int]] = []
  private var waiters: [CheckedContinuation<Void, Never>] = []
  private var abandoned = false
  private let clock = ContinuousClock()
  private let origin: ContinuousClock.Instant

  /// - Parameter origin: the instant the run started, from which the timeline counts.
  init(origin: ContinuousClock.Instant) { self.origin = origin }

  /// Adds a task.
  ///
  /// - Parameters:
  ///   - task: the work.
  ///   - needs: tasks (as `add` returned them) that must be done first.
  ///   - cost: its estimated work, in the same unit for every task (bytes read).
  /// - Returns: the task's number.
  @discardableResult
  func add(_ task: CopyTask, needs: Set<Int>, cost: Double) -> Int {
    nodes.append(Node(task: task, needs: needs, cost: cost))
    dependents.append([])
    for need in needs { dependents[need].append(nodes.count - 1) }
    return nodes.count - 1
  }

  /// Weighs each task by its own cost plus the longest chain of tasks that need it; call once all are added.
  func seal() {
    // Tasks only ever need earlier ones, so one pass from the last computes every chain.
    for index in nodes.indices.reversed() {
      nodes[index].chain = nodes[index].cost + (dependents[index].map { nodes[$0].chain }.max() ?? 0)
    }
  }

  /// How many tasks there are.
  var count: Int { nodes.count }

  /// When the last data task finished; nil while one is left.
  private(set) var dataEnd: ContinuousClock.Instant?
  private var dataWaiters: [CheckedContinuation<Void, Never>] = []

  /// Returns once every data task is done, or the work was abandoned.
  func waitForData() async {
    checkData()
    guard dataEnd == nil, !abandoned else { return }
    await withCheckedContinuation { dataWaiters.append($0) }
  }

  private func checkData() {
    guard dataEnd == nil else { return }
    let left = nodes.contains { node in
      if case .data = node.task { return node.state != .done }
      return false
    }
    guard !left else { return }
    dataEnd = clock.now
    let waiting = dataWaiters
    dataWaiters = []
    for waiter in waiting { waiter.resume() }
  }

  /// The next task ready to run, waiting while the ones running may still make another ready.
  ///
  /// - Parameter worker: which worker asks, for the timeline.
  /// - Returns: the task and its number, or nil when nothing is left (or the work was abandoned).
  func next(worker: Int) async -> (Int, CopyTask)? {
    while !abandoned {
      var best: Int?
      var running = false
      for index in nodes.indices {
        switch nodes[index].state {
        case .running: running = true
        case .done: continue
        case .waiting:
          guard nodes[index].needs.isEmpty else { continue }
          if best.map({ nodes[$0].chain < nodes[index].chain }) ?? true { best = index }
        }
      }
      if let best {
        nodes[best].state = .running
        let task = nodes[best].task
        nodes[best].event = .init(
          service: task.service, table: task.table, kind: task.kind, label: task.label, worker: worker,
          start: (clock.now - origin).inSeconds, end: 0)
        return (best, task)
      }
      // Nothing ready and nothing running that could make something ready: every task is done.
      guard running else { return nil }
      await withCheckedContinuation { waiters.append($0) }
    }
    return nil
  }

  /// Marks a task done, making ready the tasks that needed only it.
  ///
  /// - Returns: for a data task, whether it was its table's last; false for any other.
  @discardableResult
  func finished(_ index: Int) -> Bool {
    nodes[index].state = .done
    nodes[index].event?.end = (clock.now - origin).inSeconds
    for dependent in dependents[index] { nodes[dependent].needs.remove(index) }
    defer { wake() }
    guard case .data(let finished, _) = nodes[index].task else { return false }
    checkData()
    return !nodes.contains { node in
      guard case .data(let job, _) = node.task else { return false }
      return job.tableKey == finished.tableKey && node.state != .done
    }
  }

  /// Stops handing out tasks: a task failed, and the workers finish the ones they run and stop.
  func abandon() {
    abandoned = true
    wake()
    let waiting = dataWaiters
    dataWaiters = []
    for waiter in waiting { waiter.resume() }
  }

  /// Tasks never run (a need that could not be met); empty when the graph was worked through.
  var unfinished: [CopyTask] { nodes.filter { $0.state != .done }.map(\.task) }

  /// When each task ran and on which worker, in the order they started.
  var timeline: [CopySummary.TimelineEvent] { nodes.compactMap(\.event).sorted { $0.start < $1.start } }

  private func wake() {
    let waiting = waiters
    waiters = []
    for waiter in waiting { waiter.resume() }
  }
}
