import Copy
import Provision

/// `cleave copy` output: a table per service of what moved, or its JSON.
public struct CopyReport: Sendable {
  public let summary: CopySummary

  public init(_ summary: CopySummary) { self.summary = summary }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(summary) }
    var lines: [String] = []
    for service in summary.services {
      let rows = service.tables.reduce(0) { $0 + $1.rows }
      let bytes = service.tables.reduce(0) { $0 + $1.bytes }
      lines.append(
        "\(service.name) -> \(service.database): \(service.tables.count) tables, \(Formatting.count(Int64(rows))) rows, "
          + "\(Formatting.bytes(Int64(bytes))), \(service.schemaSteps) indexes/constraints/triggers, "
          + "\(service.sequences) sequences, \(service.skippedForeignKeys) cross-service foreign keys left out")
      for table in service.tables {
        lines.append(
          "    " + Formatting.pad(table.table.description, 30)
            + Formatting.pad(Formatting.count(Int64(table.rows)) + " rows", 16)
            + Formatting.bytes(Int64(table.bytes)) + (table.resumed ? "  (copied by an earlier run)" : ""))
      }
    }
    if summary.largeObjectsNotCopied > 0 {
      lines.append(
        "warning: \(summary.largeObjectsNotCopied) large objects of the source were not copied (they belong to no "
          + "table); move them with pg_dump --large-objects if a service needs them")
    }
    return lines.joined(separator: "\n")
  }
}

/// `cleave provision` output: what was created for each service.
public struct ProvisionReport: Sendable {
  public let services: [ProvisionedService]
  public let secretsPath: String

  public init(_ services: [ProvisionedService], secretsPath: String) {
    self.services = services
    self.secretsPath = secretsPath
  }

  public var text: String {
    var lines = services.map { service in
      "\(service.name): database \(service.databaseName), roles \(service.roles.owner) (owner) and "
        + "\(service.roles.login) (application)"
        + (service.created.isEmpty ? ", all there already" : "; created " + service.created.joined(separator: ", "))
    }
    lines.append("passwords: \(secretsPath) (mode 0600; never printed)")
    for service in services where !service.alsoReachable.isEmpty {
      lines.append(
        "warning: \(service.roles.login) can also connect to "
          + service.alsoReachable.joined(separator: ", ")
          + " (PUBLIC has CONNECT there); Cleave changes nothing it did not create unless asked: "
          + "`cleave provision --harden-other-databases` shows how it would close them")
    }
    return lines.joined(separator: "\n")
  }
}
