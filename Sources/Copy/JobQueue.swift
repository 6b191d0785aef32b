import PostgresDriver

/// Hands out jobs to workers, one at a time, and knows which finished job was its table's last.
actor JobQueue {
  private var jobs: [(TableJob, ConnInfo)]
  /// Jobs not finished yet per service and table.
  private var left: [String: Int] = [:]

  init(_ jobs: [(TableJob, ConnInfo)]) {
    self.jobs = jobs.reversed()
    for (job, _) in jobs { left[Self.key(job), default: 0] += 1 }
  }

  func next() -> (TableJob, ConnInfo)? { jobs.popLast() }

  /// Records `job` finished.
  ///
  /// - Returns: whether it was the last of its table.
  func finished(_ job: TableJob) -> Bool {
    let key = Self.key(job)
    left[key, default: 1] -= 1
    return left[key] == 0
  }

  private static func key(_ job: TableJob) -> String { "\(job.service)\u{0}\(job.table)" }
}
