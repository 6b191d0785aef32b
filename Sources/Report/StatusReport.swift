import Pipeline

/// `cleave status` output: a block per service with each step's time, and what is next.
public struct StatusReport: Sendable {
  public let status: Status

  public init(_ status: Status) { self.status = status }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(status) }
    var lines = ["backup      " + (status.backupAt.map { "\($0)  \(status.backupDirectory ?? "")" } ?? "not yet")]
    for service in status.services {
      lines.append("")
      lines.append("service \(service.name) (database \(service.database))")
      lines.append("  provisioned  " + (service.provisioned ? "yes" : "no"))
      lines.append("  copied       " + (service.copiedAt.map { "\($0) (\(service.copySteps) steps)" } ?? "no"))
      lines.append(
        "  verified     "
          + (service.verifiedAt.map { "\($0) (\(service.verifyDetail ?? "clean"))" }
            ?? service.verifyFailedAt.map { "FAILED at \($0): \(service.verifyDetail ?? "differences")" } ?? "no"))
      lines.append(
        "  frozen       "
          + (service.frozenAt.map {
            "\(service.frozenTables) tables since \($0), "
              + (service.writesSinceFreeze == 0 ? "no write since" : "\(service.writesSinceFreeze) rows written since")
          } ?? "no"))
      lines += service.fenceProblems.map { "  FREEZE OPEN  \($0)" }
      lines.append("  configured   " + (service.configuredAt ?? "no"))
      lines.append("  next         " + service.next)
    }
    return lines.joined(separator: "\n")
  }
}
