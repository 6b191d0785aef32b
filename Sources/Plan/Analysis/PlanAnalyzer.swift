import Catalog
import SQLParser

/// Works out what a resolved plan means: sizes per service, soft references, cross-boundary views, functions,
/// triggers, sequences and types, and the recorded queries that will break.
public struct PlanAnalyzer: Sendable {
  /// The service name used for tables no service owns.
  public static let unownedService = "(unowned)"

  let plan: SplitPlan
  let catalog: DatabaseCatalog
  let statements: [RecordedStatement]?
  let statementsUnavailable: String?

  /// - Parameters:
  ///   - plan: the resolved plan.
  ///   - catalog: the source catalog it was resolved against.
  ///   - statements: what `pg_stat_statements` recorded, or nil when it could not be read.
  ///   - statementsUnavailable: why there are no statements, for the report.
  public init(
    plan: SplitPlan, catalog: DatabaseCatalog, statements: [RecordedStatement]?, statementsUnavailable: String? = nil
  ) {
    self.plan = plan
    self.catalog = catalog
    self.statements = statements
    self.statementsUnavailable = statementsUnavailable
  }

  public func analyze() -> PlanAnalysis {
    PlanAnalysis(
      source: "\(catalog.database) (PostgreSQL \(catalog.serverVersion))", services: serviceSummaries(),
      unowned: plan.unowned.compactMap { catalog.table($0).map(summary) }, softReferences: softReferences(),
      crossingViews: crossingViews(), crossingFunctions: crossingFunctions(), crossingTriggers: crossingTriggers(),
      sharedSequences: sharedSequences(), sharedTypes: sharedTypes(), brokenQueries: brokenQueries(),
      extensions: catalog.extensions.map(\.name).filter { $0 != "plpgsql" })
  }

  private func owner(_ table: QualifiedName) -> String { plan.owner(of: table) ?? Self.unownedService }

  /// Groups tables by owning service; nil unless at least two real services are involved.
  private func crossing(_ tables: some Swift.Sequence<QualifiedName>) -> [String: [QualifiedName]]? {
    var byService: [String: Set<QualifiedName>] = [:]
    for table in tables { byService[owner(table), default: []].insert(table) }
    guard byService.keys.filter({ $0 != Self.unownedService }).count >= 2 else { return nil }
    return byService.mapValues { $0.sorted() }
  }

  private func summary(_ table: Table) -> TableSummary {
    TableSummary(
      name: table.name, kind: table.kind.rawValue, partitionOf: table.partitionOf, sizeBytes: table.sizeBytes,
      rowEstimate: table.rowEstimate)
  }

  private func serviceSummaries() -> [ServiceSummary] {
    plan.services.map { service in
      let tables = service.tables.compactMap { catalog.table($0) }
      let holding = tables.filter { $0.kind != .partitioned }
      var transforms: [String: [String]] = [:]
      for (table, transform) in service.transforms { transforms[table.description] = Self.describe(transform) }
      return ServiceSummary(
        name: service.name, target: service.target, database: service.database, schema: service.schema,
        tables: tables.map(summary), sizeBytes: holding.reduce(0) { $0 + $1.sizeBytes },
        rowEstimate: holding.reduce(Int64?(0)) { total, table in
          total.flatMap { sum in table.rowEstimate.map { sum + $0 } }
        },
        transforms: transforms)
    }
  }

  public static func describe(_ transform: TableTransform) -> [String] {
    var lines: [String] = []
    if let filter = transform.rowFilter { lines.append("keep rows where \(filter.value)") }
    if let rename = transform.renameTo { lines.append("rename to \(rename.value)") }
    for change in transform.columns {
      let column = change.column.value
      switch change.action {
      case .drop: lines.append("drop column \(column)")
      case .rename(let name): lines.append("rename column \(column) to \(name)")
      case .add(let expression, let type): lines.append("add column \(column) \(type) = \(expression)")
      case .rekey(let rekey):
        lines.append(
          "re-key \(column) through \(rekey.via.value).\(rekey.match.value) -> \(rekey.take.value)"
            + (rekey.renameTo.map { " as \($0)" } ?? "") + " (missing: \(rekey.onMissing.rawValue))")
      }
    }
    return lines
  }

  private func softReferences() -> [SoftReference] {
    catalog.foreignKeys.compactMap { key in
      let from = plan.owner(of: key.table)
      let to = plan.owner(of: key.referencedTable)
      guard from != to, from != nil || to != nil else { return nil }
      return SoftReference(
        constraint: key.name, from: .init(table: key.table, columns: key.columns, service: from),
        to: .init(table: key.referencedTable, columns: key.referencedColumns, service: to), definition: key.definition)
    }.sorted { ($0.from.table, $0.constraint) < ($1.from.table, $1.constraint) }
  }

  private func crossingViews() -> [Crossing] {
    catalog.views.compactMap { view in
      crossing(catalog.tablesRead(by: view.name)).map {
        Crossing(
          kind: view.kind == .materialized ? "materialized view" : "view", name: view.name.description, services: $0,
          evidence: "catalog")
      }
    }
  }

  /// The tables a function touches, and how Cleave knows.
  func tables(of function: Function) -> (tables: Set<QualifiedName>, evidence: String) {
    catalog.tablesTouched(by: function)
  }

  private func crossingFunctions() -> [Crossing] {
    catalog.functions.compactMap { function in
      let (tables, evidence) = tables(of: function)
      return crossing(tables).map {
        Crossing(kind: function.kind, name: function.signature, services: $0, evidence: evidence)
      }
    }
  }

  private func crossingTriggers() -> [Crossing] {
    let functions = Dictionary(grouping: catalog.functions, by: \.name)
    return catalog.triggers.compactMap { trigger in
      var tables: Set<QualifiedName> = [trigger.table]
      for function in functions[trigger.function] ?? [] { tables.formUnion(self.tables(of: function).tables) }
      return crossing(tables).map {
        Crossing(kind: "trigger", name: "\(trigger.table).\(trigger.name)", services: $0, evidence: "parsed")
      }
    }
  }

  private func sharedSequences() -> [SharedSequence] {
    catalog.sequences.compactMap { sequence in
      let columns = Set(sequence.usedBy + (sequence.ownedBy.map { [$0] } ?? []))
      var byService: [String: [ColumnReference]] = [:]
      for column in columns { byService[owner(column.table), default: []].append(column) }
      guard byService.keys.filter({ $0 != Self.unownedService }).count >= 2 else { return nil }
      return SharedSequence(sequence: sequence.name, services: byService.mapValues { $0.sorted() })
    }
  }

  private func sharedTypes() -> [SharedType] {
    catalog.types.compactMap { type in
      crossing(type.usedBy).map { SharedType(type: type.name, kind: type.kind.rawValue, services: $0) }
    }
  }

  /// Tables by owning service.
  private func grouped(_ tables: Set<QualifiedName>) -> [String: [QualifiedName]] {
    Dictionary(grouping: tables, by: owner).mapValues { $0.sorted() }
  }

  /// What the plan changes under a query that touches `tables` and names the columns `columns`.
  ///
  /// A table it renames, and each column of those tables the query names that it drops, renames or re-keys. A name two
  /// tables share counts for both, so a change may be reported for a query that reads the other table's column.
  func changes(under tables: Set<QualifiedName>, naming columns: Set<String>) -> [String] {
    var changes: [String] = []
    for table in tables.sorted() {
      let root = catalog.partitionRoot(of: table)
      guard let service = plan.services.first(where: { $0.name == plan.owner(of: root) }),
        let transform = service.transforms[root]
      else { continue }
      if let rename = transform.renameTo?.value { changes.append("table \(root) is renamed to \(rename)") }
      for change in transform.columns where columns.contains(change.column.value) {
        let column = "\(root).\(QualifiedName.quoteIfNeeded(change.column.value))"
        switch change.action {
        case .drop: changes.append("column \(column) is dropped")
        case .rename(let to): changes.append("column \(column) is renamed to \(to)")
        case .rekey(let rekey):
          changes.append(
            "column \(column) is re-keyed to \(rekey.via.value).\(rekey.take.value)"
              + (rekey.renameTo.map { " and renamed to \($0)" } ?? ""))
        case .add: break
        }
      }
    }
    return changes
  }

  /// The statements an application's queries are: reads and writes of rows.
  static let queryKinds: Set<String> = ["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]

  private func brokenQueries() -> BrokenQueries {
    guard let statements else {
      return BrokenQueries(
        available: false,
        reason: statementsUnavailable
          ?? "pg_stat_statements is not installed in the source; add it to shared_preload_libraries and run "
          + "CREATE EXTENSION pg_stat_statements, then let the application run",
        statementsRead: 0, unparsed: 0, queries: [])
    }
    var unparsed = 0
    var broken: [BrokenQuery] = []
    for statement in statements {
      guard let parsed = try? SQLParser.statements(in: statement.query),
        let references = try? SQLParser.tableReferences(in: statement.query)
      else {
        unparsed += 1
        continue
      }
      // Queries, not the schema changes that made the tables (a migration's CREATE TABLE … REFERENCES).
      guard parsed.contains(where: { Self.queryKinds.contains($0.kind) }) else { continue }
      var tables: Set<QualifiedName> = []
      for reference in references {
        for table in catalog.relations(named: reference) {
          if catalog.table(table) != nil {
            tables.insert(table)
          } else {
            tables.formUnion(catalog.tablesRead(by: table))
          }
        }
      }
      let changes = changes(under: tables, naming: (try? SQLParser.columnNames(in: statement.query)) ?? [])
      if let services = crossing(tables) ?? (changes.isEmpty ? nil : grouped(tables)) {
        broken.append(
          BrokenQuery(
            queryID: statement.queryID, calls: statement.calls, query: statement.query, services: services,
            changes: changes))
      }
    }
    return BrokenQueries(
      available: true, reason: nil, statementsRead: statements.count, unparsed: unparsed,
      queries: broken.sorted { ($1.calls, $0.queryID) < ($0.calls, $1.queryID) })
  }
}
