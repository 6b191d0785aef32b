import PostgresDriver

/// Hands out jobs to workers, one at a time.
actor JobQueue {
  private var jobs: [(TableJob, ConnInfo)]
  init(_ jobs: [(TableJob, ConnInfo)]) { self.jobs = jobs.reversed() }
  func next() -> (TableJob, ConnInfo)? { jobs.popLast() }
}
