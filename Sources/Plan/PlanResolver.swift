import Catalog
import CleaveCore
import PostgresDriver
import SQLParser

/// Checks a `PlanFile` against the source catalog and works out exactly which service owns which table.
///
/// Every error points at the place in `cleave.yml` that caused it and, for a misspelt name, suggests the closest
/// one that exists.
public struct PlanResolver {
  let file: PlanFile
  let catalog: DatabaseCatalog

  public init(file: PlanFile, catalog: DatabaseCatalog) {
    self.file = file
    self.catalog = catalog
  }

  /// Resolves the plan.
  ///
  /// - Parameter strict: fail when some table of the source is owned by no service.
  /// - Returns: the services with their targets and tables, and the tables no service owns.
  /// - Throws: `CleaveError` for the first problem found, with its location in the plan.
  public func resolve(strict: Bool = false) throws(CleaveError) -> SplitPlan {
    var claims: [QualifiedName: (service: String, location: SourceLocation)] = [:]
    var targets: [String: String] = [:]
    for service in file.services {
      targets[service.name] = try target(of: service)
      for table in try claimedTables(of: service) {
        let root = catalog.partitionRoot(of: table.value)
        for member in [root] + catalog.partitions(of: root) {
          if let earlier = claims[member.self], earlier.service != service.name {
            throw CleaveError(
              .planDuplicateOwner,
              "table \(member) is owned by both \"\(earlier.service)\" (\(earlier.location)) and \"\(service.name)\""
                + (member == table.value ? "" : " (it is in the partition tree of \(root))"),
              hint: "keep it in one service; the other reaches it through the owner's API (a soft reference)",
              at: table.location)
          }
          claims[member] = (service.name, table.location)
        }
      }
    }
    try checkDestinations(targets: targets)

    let owners = claims.mapValues(\.service)
    var services: [ServicePlan] = []
    for service in file.services {
      var transforms: [QualifiedName: TableTransform] = [:]
      for transform in service.transforms {
        let table = try catalog.existingTable(transform.table, what: "transform")
        guard owners[table] == service.name else {
          throw CleaveError(
            .planInvalidTransform,
            "service \"\(service.name)\" has a transform for \(table), which "
              + (owners[table].map { "service \"\($0)\" owns" } ?? "no service owns"),
            hint: "move the transform under the service that owns the table", at: transform.table.location)
        }
        try TransformValidator(catalog: catalog, table: table).validate(transform)
        transforms[table] = transform
      }
      services.append(
        ServicePlan(
          name: service.name, target: targets[service.name] ?? "",
          server: ConnInfo(file.target(targets[service.name] ?? "")?.endpoint.url ?? ""), database: service.database,
          schema: service.schema, tables: owners.filter { $0.value == service.name }.keys.sorted(),
          transforms: transforms, ownerPassword: service.ownerPassword, appPassword: service.appPassword,
          pool: service.pool, connectionSwitch: service.connectionSwitch))
    }
    for service in services { try OrphanRule(service: service, catalog: catalog).check() }
    // A migration tool's history is not data: unowned, it is not reported as left behind.
    let unowned = catalog.tables.map(\.name).filter { owners[$0] == nil && !HistoryTables.names.contains($0.name) }
      .sorted()
    if strict, let first = unowned.first {
      throw CleaveError(
        .planUnownedTables,
        "\(unowned.count) table(s) of the source belong to no service: "
          + unowned.prefix(10).map(\.description).joined(separator: ", ") + (unowned.count > 10 ? ", …" : ""),
        hint: "add \(first) (or a glob or schema covering these) to a service's `tables:`, or run without --strict",
        at: SourceLocation(file: file.path, line: 1, column: 1))
    }
    return SplitPlan(
      file: file, identity: PlanIdentity(file: file, catalog: catalog), services: services, owners: owners,
      unowned: unowned)
  }

  private func target(of service: Service) throws(CleaveError) -> String {
    let names = file.targets.map(\.name)
    guard let name = service.target else {
      guard names.count == 1 else {
        throw CleaveError(
          .planUnknownTarget, "service \"\(service.name)\" does not say which target it goes to",
          hint: "add `target:` with one of: " + names.joined(separator: ", "), at: service.location)
      }
      return names[0]
    }
    guard names.contains(name) else {
      let guess = Spelling.closest(to: name, in: names).map { "did you mean `\($0)`? " } ?? ""
      throw CleaveError(
        .planUnknownTarget, "service \"\(service.name)\" names target `\(name)`, which `targets` does not define",
        hint: guess + "targets: " + names.joined(separator: ", "), at: service.targetLocation ?? service.location)
    }
    return name
  }

  private func claimedTables(of service: Service) throws(CleaveError) -> [Located<QualifiedName>] {
    var result: [Located<QualifiedName>] = []
    let schemaNames = Set(catalog.schemas.map(\.name)).union(catalog.tables.map(\.name.schema))
    for schema in service.schemas {
      guard schemaNames.contains(schema.value) else {
        let guess = Spelling.closest(to: schema.value, in: schemaNames).map { " did you mean `\($0)`?" } ?? ""
        throw CleaveError(
          .planUnknownSchema, "schema `\(schema.value)` does not exist in the source",
          hint: "schemas are matched exactly, case included." + guess, at: schema.location)
      }
      result += catalog.tables.filter { $0.name.schema == schema.value }.map { Located($0.name, at: schema.location) }
    }
    for entry in service.tables {
      let pattern = TablePattern(entry.value)
      if pattern.isGlob {
        let matched = catalog.tables.map(\.name).filter(pattern.matches)
        guard !matched.isEmpty else {
          let guess = Spelling.closest(to: pattern.qualified.description, in: catalog.tables.map(\.name.description))
          throw CleaveError(
            .planGlobMatchesNothing, "`\(entry.value)` matches no table of the source",
            hint: guess.map { "a table with a close name: \($0)" } ?? "globs match `schema.name`; `*` is any run",
            at: entry.location)
        }
        result += matched.map { Located($0, at: entry.location) }
      } else {
        result.append(Located(try catalog.existingTable(entry, what: "table"), at: entry.location))
      }
    }
    return result
  }

  /// Two services may share a database only when each has a schema of its own in it.
  private func checkDestinations(targets: [String: String]) throws(CleaveError) {
    var seen: [String: Service] = [:]
    for service in file.services {
      let key = (targets[service.name] ?? "") + "\u{0}" + service.database
      if let earlier = seen[key] {
        if earlier.schema == nil || service.schema == nil || earlier.schema == service.schema {
          throw CleaveError(
            .planDuplicateDestination,
            "services \"\(earlier.name)\" and \"\(service.name)\" both go to database \(service.database)"
              + " on target \(targets[service.name] ?? "")",
            hint: "give each its own `database:`, or give each a different `schema:` in the shared database",
            at: service.location)
        }
      }
      seen[key] = service
    }
  }
}
