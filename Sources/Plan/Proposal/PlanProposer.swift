import Catalog
import CleaveCore
import Foundation
import PostgresDriver
import SQLParser

/// Writes a starting `cleave.yml` for a source (`cleave init`): one service per schema where the source uses
/// schemas, otherwise services found in the foreign-key graph and the recorded queries, with a comment on each
/// choice.
public struct PlanProposer: Sendable {
  let catalog: DatabaseCatalog
  let statements: [RecordedStatement]
  let sourceURL: String

  /// - Parameters:
  ///   - catalog: the source catalog.
  ///   - statements: what `pg_stat_statements` recorded (empty when it is not available).
  ///   - sourceURL: the connection string given; a password in it is never written to the plan.
  public init(catalog: DatabaseCatalog, statements: [RecordedStatement], sourceURL: String) {
    self.catalog = catalog
    self.statements = statements
    self.sourceURL = sourceURL
  }

  /// One proposed service: its name, tables and the reasons they are together.
  public struct ProposedService: Sendable {
    public var name: String
    public var tables: [QualifiedName]
    public var reasons: [String]
  }

  /// The history tables of the source, left out of every service.
  public var leftOut: [QualifiedName] {
    catalog.tables.filter { $0.partitionOf == nil && HistoryTables.names.contains($0.name.name) }.map(\.name)
  }

  /// Foreign keys that make two tables one-to-one (the key's columns are NOT NULL and unique, or the primary key):
  /// the two are one record in two tables and always go to one service.
  func oneToOne(_ key: ForeignKey) -> Bool {
    guard let table = catalog.table(key.table) else { return false }
    let columns = Set(key.columns)
    let unique = ([table.primaryKey].compactMap { $0 } + table.uniqueKeys).contains { Set($0.columns) == columns }
    return unique && key.columns.allSatisfy { table.column($0)?.notNull == true }
  }

  /// The proposed services, before they are written as YAML.
  public func proposeServices() -> (services: [ProposedService], basis: String) {
    let history = Set(leftOut)
    let roots = catalog.tables.filter { $0.partitionOf == nil && !history.contains($0.name) }.map(\.name)
    let schemas = Set(roots.map(\.schema))
    if schemas.count > 1 {
      let services = schemas.sorted().map { schema in
        ProposedService(
          name: Self.serviceName(schema), tables: roots.filter { $0.schema == schema },
          reasons: ["every table of schema \(schema)"])
      }
      return (services, "one service per schema")
    }
    var graph = TableGraph(nodes: roots)
    for key in catalog.foreignKeys {
      graph.connect(
        catalog.partitionRoot(of: key.table), catalog.partitionRoot(of: key.referencedTable), weight: 1,
        because: "foreign key \(key.table.name) -> \(key.referencedTable.name)")
    }
    for statement in statements {
      guard let references = try? SQLParser.tableReferences(in: statement.query) else { continue }
      let tables = Set(
        references.flatMap(catalog.relations(named:)).filter { catalog.table($0) != nil }
          .map(catalog.partitionRoot(of:))
      ).sorted()
      for (index, a) in tables.enumerated() {
        for b in tables[(index + 1)...] {
          graph.connect(a, b, weight: 1, because: "used together by a recorded query (\(statement.calls) calls)")
        }
      }
    }
    var services: [ProposedService] = []
    var loners: [QualifiedName] = []
    // One-to-one pairs are never cut: the communities holding their two ends become one.
    var communities = graph.communities()
    for key in catalog.foreignKeys where oneToOne(key) {
      let (a, b) = (catalog.partitionRoot(of: key.table), catalog.partitionRoot(of: key.referencedTable))
      guard let first = communities.firstIndex(where: { $0.contains(a) }),
        let second = communities.firstIndex(where: { $0.contains(b) }), first != second
      else { continue }
      communities[first] = (communities[first] + communities[second]).sorted()
      communities.remove(at: second)
    }
    for community in communities {
      guard community.count > 1 else {
        loners += community
        continue
      }
      let center = community.max { (graph.degree($0), $1.name) < (graph.degree($1), $0.name) } ?? community[0]
      var reasons: [String] = []
      for (pair, ties) in graph.ties.sorted(by: { ($0.key.first, $0.key.second) < ($1.key.first, $1.key.second) })
      where community.contains(pair.first) && community.contains(pair.second) {
        reasons += ties.map(\.reason)
      }
      services.append(ProposedService(name: Self.serviceName(center.name), tables: community, reasons: reasons))
    }
    if !loners.isEmpty {
      services.append(
        ProposedService(
          name: "standalone", tables: loners,
          reasons: ["no foreign key or recorded query ties these tables to any other: place them freely"]))
    }
    var used: Set<String> = []
    for index in services.indices {
      var name = services[index].name
      var suffix = 2
      while !used.insert(name).inserted {
        name = "\(services[index].name)_\(suffix)"
        suffix += 1
      }
      services[index].name = name
    }
    return (services, statements.isEmpty ? "foreign keys" : "foreign keys and recorded queries")
  }

  /// Every tie between tables the proposal put in different services, and what it becomes: a foreign key a soft
  /// reference, a recorded query one that crosses services.
  public func cuts(_ services: [ProposedService]) -> [String] {
    var owner: [QualifiedName: String] = [:]
    for service in services { for table in service.tables { owner[table] = service.name } }
    var cuts: [String] = []
    for key in catalog.foreignKeys {
      let (from, to) = (catalog.partitionRoot(of: key.table), catalog.partitionRoot(of: key.referencedTable))
      guard let a = owner[from], let b = owner[to], a != b else { continue }
      cuts.append("foreign key \(key.name) (\(from) -> \(to)): \(a) -> \(b), becomes a soft reference")
    }
    for statement in statements {
      guard let references = try? SQLParser.tableReferences(in: statement.query) else { continue }
      let services = Set(
        references.flatMap(catalog.relations(named:)).compactMap { owner[catalog.partitionRoot(of: $0)] })
      if services.count > 1 {
        cuts.append(
          "a recorded query (\(statement.calls) calls) reads \(services.sorted().joined(separator: " and ")): it "
            + "must become an API call or a copy of the data")
      }
    }
    return Array(Set(cuts)).sorted()
  }

  /// The plan as YAML text with comments.
  public func yaml() -> String {
    let (services, basis) = proposeServices()
    let hasPassword = Redaction.redact(sourceURL) != sourceURL
    let source = hasPassword ? "${CLEAVE_SOURCE_URL}" : sourceURL
    var lines = [
      "# cleave.yml proposed by `cleave init` from \(catalog.database): services from \(basis).",
      "# Review every service, then run `cleave plan -f cleave.yml` to see soft references and broken queries.",
      "# Every key is described in docs/plan-file.md.",
      "version: 1",
      "# the plan's identity, written into the mark on everything Cleave creates for it; keep it when the file",
      "# moves, and give a second plan for the same source another one",
      "name: \(Self.scalar(catalog.database + "-split"))",
      "source:",
    ]
    if hasPassword {
      lines.append("  # the URL given had a password; it is not written here: export CLEAVE_SOURCE_URL")
    }
    lines.append("  url: \(Self.scalar(source))")
    lines += [
      "targets:",
      "  main:",
      "    # the server where the service databases get created: export CLEAVE_TARGET_URL. There is no default;",
      "    # the source's own server is rarely the place (its connections and disk are the monolith's)",
      "    url: \(Self.scalar("${CLEAVE_TARGET_URL}"))",
    ]
    for table in leftOut {
      lines.append(
        "# left out: \(Self.planName(table)), a migration tool's history; each service gets its own "
          + "(`cleave migrate baseline`), never the monolith's as data")
    }
    let cuts = cuts(services)
    if !cuts.isEmpty {
      lines.append("# ties cut between services (\(cuts.count)):")
      for cut in cuts { lines.append("#   \(cut)") }
    }
    lines.append("services:")
    for service in services {
      lines.append("  \(Self.scalar(service.name)):")
      for reason in service.reasons.prefix(6) { lines.append("    # \(reason)") }
      if service.reasons.count > 6 { lines.append("    # … and \(service.reasons.count - 6) more ties") }
      lines.append("    database: \(Self.scalar(service.name + "_db"))")
      lines.append("    # its own migrations (Prisma's or Flyway's layout): `cleave migrate baseline` starts them")
      lines.append("    migrations: \(Self.scalar("migrations/" + service.name))")
      lines.append("    tables:")
      for table in service.tables { lines.append("      - \(Self.scalar(Self.planName(table)))") }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// How the plan writes a table: `schema.name`, with a part double-quoted only when it holds a dot or a quote.
  static func planName(_ name: QualifiedName) -> String {
    func part(_ text: String) -> String {
      text.contains(".") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
    return part(name.schema) + "." + part(name.name)
  }

  /// A YAML scalar, single-quoted unless it is plainly safe.
  static func scalar(_ text: String) -> String {
    let safe = text.unicodeScalars.allSatisfy {
      CharacterSet.alphanumerics.contains($0) || "_-./".unicodeScalars.contains($0)
    }
    return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
  }

  /// A service name from a table or schema name: lower case, letters, digits and underscores.
  static func serviceName(_ text: String) -> String {
    let cleaned = String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    return cleaned.isEmpty ? "service" : cleaned
  }
}
