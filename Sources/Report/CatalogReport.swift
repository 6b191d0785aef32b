import Catalog

/// `cleave inspect` output: a readable summary of a `DatabaseCatalog`, or its JSON.
public struct CatalogReport: Sendable {
  public let catalog: DatabaseCatalog

  public init(_ catalog: DatabaseCatalog) { self.catalog = catalog }

  public func rendered(as format: OutputFormat) -> String {
    format == .json ? JSONRendering.render(catalog) : text
  }

  var text: String {
    var lines: [String] = []
    let holding = catalog.tables.filter { $0.kind != .partitioned }
    lines.append("Database \(catalog.database) (PostgreSQL \(catalog.serverVersion))")
    lines.append(
      "  \(catalog.schemas.count) schemas, \(catalog.tables.count) tables, \(catalog.views.count) views, "
        + "\(catalog.sequences.count) sequences, \(catalog.types.count) types, \(catalog.functions.count) functions, "
        + "\(catalog.triggers.count) triggers; "
        + "\(Formatting.bytes(holding.reduce(0) { $0 + $1.sizeBytes })), "
        + Formatting.rows(
          holding.reduce(Int64?(0)) { total, table in total.flatMap { sum in table.rowEstimate.map { sum + $0 } } }))
    lines.append("")
    lines.append("Tables")
    // As wide as the longest name, so a long one never runs into the size.
    let nameWidth = Formatting.width(catalog.tables.map { "  \($0.name)" }, minimum: 34)
    for table in catalog.tables {
      var notes: [String] = []
      if table.kind != .ordinary { notes.append(table.kind.rawValue) }
      if table.persistence == .unlogged { notes.append("unlogged") }
      if let parent = table.partitionOf { notes.append("partition of \(parent)") }
      if let key = table.partitionKey { notes.append("by \(key)") }
      if !table.inheritsFrom.isEmpty {
        notes.append("inherits \(table.inheritsFrom.map(\.description).joined(separator: ", "))")
      }
      if table.primaryKey == nil { notes.append("no primary key") }
      let head =
        Formatting.pad("  \(table.name)", nameWidth) + Formatting.pad(Formatting.bytes(table.sizeBytes), 10)
        + Formatting.pad(Formatting.rows(table.rowEstimate), 16) + "\(table.columns.count) columns"
      lines.append(head + (notes.isEmpty ? "" : "  [\(notes.joined(separator: "; "))]"))
      for key in table.foreignKeys {
        lines.append(
          "      -> \(key.referencedTable) (\(key.columns.joined(separator: ", ")) -> "
            + "\(key.referencedColumns.joined(separator: ", ")))  \(key.name)")
      }
    }
    if !catalog.sequences.isEmpty {
      lines.append("")
      lines.append("Sequences")
      for sequence in catalog.sequences {
        let owner = sequence.ownedBy.map { "owned by \($0)" } ?? "not owned"
        let users =
          sequence.usedBy.isEmpty ? "" : ", default of \(sequence.usedBy.map(\.description).joined(separator: ", "))"
        lines.append("  \(sequence.name) (\(sequence.dataType)) \(owner)\(users)")
      }
    }
    if !catalog.types.isEmpty {
      lines.append("")
      lines.append("Types")
      for type in catalog.types {
        let detail =
          switch type.kind {
          case .enum: "enum (\(type.labels.joined(separator: ", ")))"
          case .domain:
            "domain over \(type.baseType ?? "?")"
              + (type.constraints.isEmpty ? "" : " \(type.constraints.joined(separator: " "))")
          case .composite: "composite (\(type.attributes.joined(separator: ", ")))"
          }
        let users = type.usedBy.isEmpty ? "unused" : "used by \(type.usedBy.map(\.description).joined(separator: ", "))"
        lines.append("  \(type.name): \(detail); \(users)")
      }
    }
    if !catalog.views.isEmpty {
      lines.append("")
      lines.append("Views")
      for view in catalog.views {
        let kind = view.kind == .materialized ? " (materialized)" : ""
        lines.append("  \(view.name)\(kind) reads \(view.reads.map(\.description).joined(separator: ", "))")
      }
    }
    if !catalog.functions.isEmpty {
      lines.append("")
      lines.append("Functions")
      for function in catalog.functions {
        let deps =
          function.dependsOn.isEmpty
          ? "" : " depends on \(function.dependsOn.map(\.description).joined(separator: ", "))"
        lines.append("  \(function.signature) [\(function.kind), \(function.language)]\(deps)")
      }
    }
    if !catalog.triggers.isEmpty {
      lines.append("")
      lines.append("Triggers")
      for trigger in catalog.triggers {
        lines.append(
          "  \(trigger.table).\(trigger.name) runs \(trigger.function)\(trigger.enabled ? "" : " (disabled)")")
      }
    }
    lines.append("")
    lines.append(
      "Extensions: " + catalog.extensions.map { "\($0.name) \($0.version)" }.joined(separator: ", ")
        + (catalog.hasStatStatements ? "" : "  (pg_stat_statements not readable: no query history)"))
    return lines.joined(separator: "\n")
  }
}
