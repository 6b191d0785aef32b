import Dispatch

/// A serial executor over one dispatch queue, so an actor's blocking calls run on a thread of their own.
///
/// libpq blocks in `poll()`; running it on Swift's cooperative pool (one thread per core, two here) would stall
/// every other task. Dispatch queues get their threads from an overcommitting pool instead.
public final class QueueExecutor: SerialExecutor, @unchecked Sendable {
  // @unchecked: the only stored property is a DispatchQueue, which is thread-safe.
  private let queue: DispatchQueue

  public init(label: String) { queue = DispatchQueue(label: label) }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
