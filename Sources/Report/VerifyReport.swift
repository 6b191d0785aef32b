import Catalog
import Verify

/// `cleave verify` output: a checklist per table (expected, actual, status) like the runbooks' validation
/// checklist, the rows that differ, the schema differences, the soft references and a one-line verdict; or JSON.
public struct VerifyReport: Sendable {
  public let summary: VerifySummary
  public let style: TerminalStyle

  public init(_ summary: VerifySummary, style: TerminalStyle = TerminalStyle(enabled: false)) {
    self.summary = summary
    self.style = style
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(summary) }
    let serviceWidth = (summary.tables.map(\.service.count) + [7]).max().map { $0 + 2 } ?? 16
    let tableWidth = (summary.tables.map(\.target.description.count) + [5]).max().map { $0 + 2 } ?? 34
    var lines = [
      style.bold(
        Formatting.pad("service", serviceWidth) + Formatting.pad("table", tableWidth) + Formatting.pad("expected", 12)
          + Formatting.pad("actual", 12) + "status")
    ]
    for table in summary.tables {
      let status = table.status == .match ? style.green("ok") : style.red(table.status.rawValue.uppercased())
      lines.append(
        Formatting.pad(table.service, serviceWidth) + Formatting.pad(table.target.description, tableWidth)
          + Formatting.pad(Formatting.count(Int64(table.expectedRows)), 12)
          + Formatting.pad(table.actualRows.map { Formatting.count(Int64($0)) } ?? "-", 12) + status)
      if let problem = table.problem { lines.append("    cannot read it: \(problem)") }
      if let differences = table.differences { lines += describe(differences) }
    }
    if !summary.schema.isEmpty {
      lines.append("")
      lines.append(style.bold("schema differences"))
      for difference in summary.schema { lines.append("  " + Self.describe(difference)) }
    }
    if !summary.references.isEmpty {
      lines.append("")
      lines.append(style.bold("soft references (values checked across service databases)"))
      for reference in summary.references {
        lines.append(
          "  \(reference.fromService): \(reference.from) -> \(reference.toService): \(reference.to)  "
            + "\(Formatting.count(Int64(reference.checkedValues))) values, "
            + (reference.orphans == 0
              ? style.green("ok")
              : style.red("\(reference.orphans) ORPHANED")
                + " (first: \(reference.firstOrphans.joined(separator: "; ")))")
            + "  [\(reference.constraint)]")
      }
    }
    lines.append("")
    if let snapshot = summary.source.snapshot {
      lines.append("source read in snapshot \(snapshot) (the copy's)")
    } else if let writes = summary.source.writesWhileVerifying, writes > 0 {
      lines.append(
        style.yellow(
          "source is live: \(Formatting.count(Int64(writes))) rows of the planned tables were written while verify "
            + "ran, so a difference may be a later write rather than a copy error (use --snapshot to verify the copy's "
            + "own instant)"))
    }
    lines.append(verdict)
    return lines.joined(separator: "\n")
  }

  /// The one-line verdict.
  public var verdict: String {
    let bad = summary.tables.filter { $0.status != .match }.count
    let orphaned = summary.references.filter { $0.orphans > 0 }.count
    if summary.passed {
      return style.green(
        "verified: all \(summary.tables.count) tables match the plan, the schema is as planned, "
          + "\(summary.references.count) soft references hold")
    }
    return style.red(
      "NOT verified: \(bad) of \(summary.tables.count) tables differ from the plan, "
        + "\(summary.schema.count) schema differences, "
        + "\(orphaned) of \(summary.references.count) soft references have orphans")
  }

  private func describe(_ differences: TableDifferences) -> [String] {
    var lines = [
      "    \(differences.missing) missing, \(differences.extra) extra, \(differences.changed) changed"
        + (differences.locatedByKey
          ? " (by key \(differences.key.joined(separator: ", ")))"
          : " (no primary key: rows compared as a multiset, differences cannot be located by key)")
    ]
    for example in differences.examples { lines.append("      " + Self.describe(example)) }
    if differences.total > differences.examples.count {
      lines.append("      … and \(differences.total - differences.examples.count) more")
    }
    return lines
  }

  /// One differing row, such as `changed (777): c17 "a" -> "b"`.
  static func describe(_ row: RowDifference) -> String {
    var text = "\(row.kind.rawValue) \(Self.shorten(row.key))"
    if let other = row.otherTable { text += row.kind == .movedOut ? " (now in \(other))" : " (belongs in \(other))" }
    if let expected = row.expectedCopies, let actual = row.actualCopies {
      text += ": \(expected) expected, \(actual) present"
    }
    if !row.columns.isEmpty {
      text +=
        ": "
        + row.columns.map { "\($0.column) \(Self.value($0.expected)) -> \(Self.value($0.actual))" }.joined(
          separator: ", ")
    }
    return text
  }

  /// One schema difference, such as `kinds public.wide: missing index btree (c1)`.
  static func describe(_ difference: SchemaDifference) -> String {
    var text = "\(difference.service) \(difference.table): \(difference.kind.rawValue) \(difference.object)"
    if difference.expected != nil || difference.actual != nil, difference.expected != difference.object {
      text += " (expected \(difference.expected ?? "none"), found \(difference.actual ?? "none"))"
    }
    return text
  }

  static func value(_ text: String?) -> String {
    guard let text else { return "NULL" }
    return "\"" + shorten(text) + "\""
  }

  static func shorten(_ text: String, to limit: Int = 60) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
  }
}
