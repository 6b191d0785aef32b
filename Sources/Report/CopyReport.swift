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
      let nameWidth = Formatting.width(service.tables.map(\.table.description), minimum: 30)
      for table in service.tables {
        lines.append(
          "    " + Formatting.pad(table.table.description, nameWidth)
            + Formatting.pad(Formatting.count(Int64(table.rows)) + " rows", 16)
            + Formatting.pad(Formatting.bytes(Int64(table.bytes)), 12)
            + (table.format.map { "\($0.rawValue) COPY" } ?? "") + (table.resumed ? "  (copied by an earlier run)" : "")
        )
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
  /// What `--harden-other-databases` did, when it was asked: per database, closed or why not.
  public var otherDatabases: [OtherDatabase] = []

  /// One database `--harden-other-databases` closed, or left open and why.
  public struct OtherDatabase: Sendable, Codable {
    public var database: String
    public var closed: Bool
    /// Login roles granted CONNECT so that they keep it.
    public var keeping: [String]
    public var reason: String?

    public init(database: String, closed: Bool, keeping: [String], reason: String?) {
      self.database = database
      self.closed = closed
      self.keeping = keeping
      self.reason = reason
    }
  }

  public init(_ services: [ProvisionedService], secretsPath: String) {
    self.services = services
    self.secretsPath = secretsPath
  }

  /// The JSON form (`docs/json-output.md`): each service with its database, roles, what this run created and the
  /// other databases its login can still reach; the secrets file; what hardening did.
  struct JSONForm: Encodable {
    struct Service: Encodable {
      var name: String
      var database: String
      var schema: String?
      var ownerRole: String
      var loginRole: String
      var created: [String]
      var alsoReachable: [String]
    }
    var services: [Service]
    var secretsFile: String
    var otherDatabases: [OtherDatabase]
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .json else { return text }
    return JSONRendering.render(
      JSONForm(
        services: services.map {
          .init(
            name: $0.name, database: $0.databaseName, schema: $0.schema, ownerRole: $0.roles.owner,
            loginRole: $0.roles.login, created: $0.created, alsoReachable: $0.alsoReachable)
        }, secretsFile: secretsPath, otherDatabases: otherDatabases))
  }

  public var text: String {
    var lines = otherDatabases.map { other in
      other.closed
        ? "closed \(other.database) to PUBLIC"
          + (other.keeping.isEmpty ? "" : "; CONNECT kept for " + other.keeping.joined(separator: ", "))
        : "warning: \(other.database) is left open: \(other.reason ?? "") (only its owner or a superuser may close it)"
    }
    lines += services.map { service in
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
