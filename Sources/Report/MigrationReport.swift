import Migrate
import Verify

/// `cleave migrate status` and `deploy` output: per service, what is applied, pending, failed, modified or missing,
/// what this run applied, and the linter's findings.
public struct MigrationReport: Sendable {
  public let statuses: [MigrationStatus]
  public let dryRun: Bool

  public init(_ statuses: [MigrationStatus], dryRun: Bool = false) {
    self.statuses = statuses
    self.dryRun = dryRun
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(statuses) }
    var lines: [String] = []
    for status in statuses {
      lines.append(
        "service \(status.service) (\(status.layout.rawValue)): \(status.applied.count) applied, "
          + "\(status.pending.count) pending, \(status.failed.count) failed, \(status.modified.count) modified, "
          + "\(status.missing.count) missing")
      for name in status.appliedNow { lines.append("  applied now: \(name)") }
      for name in status.pending { lines.append("  \(dryRun ? "would apply" : "pending"): \(name)") }
      for name in status.failed { lines.append("  FAILED: \(name)") }
      for name in status.modified { lines.append("  MODIFIED since applied: \(name)") }
      for name in status.missing { lines.append("  MISSING file of applied: \(name)") }
      for finding in status.findings {
        lines.append("  " + finding.description.replacingOccurrences(of: "\n", with: "\n  "))
      }
      if !status.historyFindings.isEmpty {
        let total = status.historyFindings.values.reduce(0, +)
        let byRule = status.historyFindings.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
          .map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        lines.append(
          "  lint: \(total) findings in the existing history, replayed into an empty database where they lock "
            + "nothing (\(byRule)); `cleave migrate lint --all` lists them")
      }
      if let error = status.error { lines.append("  error: \(error)") }
    }
    return lines.joined(separator: "\n")
  }

  struct DriftShape: Encodable {
    var service: String
    var differences: [SchemaDifference]
  }

  /// `cleave migrate drift` output: per service, "no drift" or each difference between the schema the migrations
  /// build (expected) and the live one (found).
  public static func drift(_ results: [(service: String, differences: [SchemaDifference])], as format: OutputFormat)
    -> String
  {
    guard format == .text else {
      return JSONRendering.render(results.map { DriftShape(service: $0.service, differences: $0.differences) })
    }
    return results.map { result in
      result.differences.isEmpty
        ? "service \(result.service): no drift"
        : "service \(result.service): SCHEMA DRIFT DETECTED (\(result.differences.count))\n"
          + result.differences.map { "  " + VerifyReport.describe($0) }.joined(separator: "\n")
    }.joined(separator: "\n")
  }
}
