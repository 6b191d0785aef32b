import Verify

/// `cleave verify` output: a checklist per table (expected, actual, status) and a one-line verdict, or JSON.
public struct VerifyReport: Sendable {
  public let summary: VerifySummary

  public init(_ summary: VerifySummary) { self.summary = summary }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(summary) }
    var lines = [
      Formatting.pad("service", 16) + Formatting.pad("table", 34) + Formatting.pad("expected", 12)
        + Formatting.pad("actual", 12) + "status"
    ]
    for table in summary.tables {
      lines.append(
        Formatting.pad(table.service, 16) + Formatting.pad(table.target.description, 34)
          + Formatting.pad(Formatting.count(Int64(table.expectedRows)), 12)
          + Formatting.pad(table.actualRows.map { Formatting.count(Int64($0)) } ?? "-", 12)
          + (table.status == .match ? "ok" : table.status.rawValue.uppercased()))
    }
    if !summary.references.isEmpty {
      lines.append("")
      lines.append("soft references (values checked across service databases)")
      for reference in summary.references {
        lines.append(
          "  \(reference.fromService): \(reference.from) -> \(reference.toService): \(reference.to)  "
            + "\(Formatting.count(Int64(reference.checkedValues))) values, "
            + (reference.orphans == 0
              ? "ok"
              : "\(reference.orphans) ORPHANED (first: \(reference.firstOrphans.joined(separator: "; ")))")
            + "  [\(reference.constraint)]")
      }
    }
    let bad = summary.tables.filter { $0.status != .match }.count
    let orphaned = summary.references.filter { $0.orphans > 0 }.count
    lines.append("")
    lines.append(
      bad == 0 && orphaned == 0
        ? "verified: all \(summary.tables.count) tables match the plan, \(summary.references.count) soft references hold"
        : "NOT verified: \(bad) of \(summary.tables.count) tables differ from the plan, "
          + "\(orphaned) of \(summary.references.count) soft references have orphans")
    return lines.joined(separator: "\n")
  }
}
