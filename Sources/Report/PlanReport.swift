import Catalog
import Plan

/// `cleave plan` output: what the split means, as text for people or JSON for tools.
public struct PlanReport: Sendable {
  public let analysis: PlanAnalysis

  public init(_ analysis: PlanAnalysis) { self.analysis = analysis }

  public func rendered(as format: OutputFormat) -> String {
    format == .json ? JSONRendering.render(analysis) : text
  }

  private static func services(_ map: [String: [QualifiedName]]) -> String {
    map.keys.sorted().map { "\($0): \(map[$0, default: []].map(\.description).joined(separator: ", "))" }
      .joined(separator: " | ")
  }

  var text: String {
    var lines = ["Plan for \(analysis.source)", ""]
    lines.append("Ownership")
    for service in analysis.services {
      let place = service.database + (service.schema.map { " schema \($0)" } ?? "")
      lines.append(
        "  \(service.name) -> \(place) on \(service.target): \(service.tables.count) tables, "
          + "\(Formatting.bytes(service.sizeBytes)), \(Formatting.rows(service.rowEstimate))")
      let nameWidth = Formatting.width(service.tables.map(\.name.description), minimum: 30)
      for table in service.tables {
        let note =
          table.partitionOf.map { "  (partition of \($0))" } ?? (table.kind == "partitioned" ? "  (partitioned)" : "")
        lines.append(
          "      " + Formatting.pad(table.name.description, nameWidth)
            + Formatting.pad(Formatting.bytes(table.sizeBytes), 10)
            + Formatting.rows(table.rowEstimate) + note)
        for change in service.transforms[table.name.description] ?? [] {
          lines.append("          transform: \(change)")
        }
      }
    }
    if analysis.unowned.isEmpty {
      lines.append("  every table has an owner")
    } else {
      lines.append(
        "  unowned (not copied anywhere): " + analysis.unowned.map(\.name.description).joined(separator: ", "))
    }

    lines.append("")
    lines.append(
      "Soft references (\(analysis.softReferences.count)): foreign keys the copy will not create; verify checks them")
    for reference in analysis.softReferences {
      lines.append(
        "  \(reference.from.service ?? "(unowned)"): \(reference.from.table)(\(reference.from.columns.joined(separator: ", ")))"
          + " -> \(reference.to.service ?? "(unowned)"): \(reference.to.table)(\(reference.to.columns.joined(separator: ", ")))"
          + "  [\(reference.constraint)]")
    }

    let crossings = analysis.crossingViews + analysis.crossingFunctions + analysis.crossingTriggers
    lines.append("")
    lines.append("Crossing the boundary (\(crossings.count)): they read tables of several services and will break")
    for crossing in crossings {
      lines.append("  \(crossing.kind) \(crossing.name)  [\(crossing.evidence)]")
      lines.append("      \(Self.services(crossing.services))")
    }
    lines.append("")
    lines.append("Shared sequences (\(analysis.sharedSequences.count)): each service gets its own copy")
    for shared in analysis.sharedSequences {
      let parts = shared.services.keys.sorted().map {
        "\($0): \(shared.services[$0, default: []].map(\.description).joined(separator: ", "))"
      }
      lines.append("  \(shared.sequence)  \(parts.joined(separator: " | "))")
    }
    lines.append("")
    lines.append("Shared types (\(analysis.sharedTypes.count)): created in each service that uses them")
    for shared in analysis.sharedTypes {
      lines.append("  \(shared.kind) \(shared.type)  used by \(shared.services.keys.sorted().joined(separator: ", "))")
    }

    lines.append("")
    let broken = analysis.brokenQueries
    if broken.available {
      lines.append(
        "Queries that will break (\(broken.queries.count) of \(broken.statementsRead) recorded"
          + (broken.unparsed > 0 ? ", \(broken.unparsed) unreadable" : "") + "), most called first")
      for query in broken.queries {
        let text = query.query.split(whereSeparator: \.isNewline).joined(separator: " ")
        lines.append("  \(Formatting.count(query.calls)) calls  \(text.prefix(110))\(text.count > 110 ? "…" : "")")
        lines.append("      \(Self.services(query.services))")
        for change in query.changes { lines.append("      \(change)") }
      }
    } else {
      lines.append("Queries that will break: unknown. \(broken.reason ?? "")")
    }
    if !analysis.extensions.isEmpty {
      lines.append("")
      lines.append("Extensions in the source: \(analysis.extensions.joined(separator: ", "))")
    }
    return lines.joined(separator: "\n")
  }
}
