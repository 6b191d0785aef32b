/// Data jobs not finished yet per service and table, so a finished job knows whether it was its table's last.
actor TableCounter {
  private var left: [String: Int]

  init(_ left: [String: Int]) { self.left = left }

  /// Records `job` finished.
  ///
  /// - Returns: whether it was the last of its table.
  func finished(_ job: TableJob) -> Bool {
    let key = Self.key(job)
    left[key, default: 1] -= 1
    return left[key] == 0
  }

  static func key(_ job: TableJob) -> String { "\(job.service)\u{0}\(job.table)" }
}
