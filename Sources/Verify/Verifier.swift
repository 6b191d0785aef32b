import Catalog
import CleaveCore
import Crypto
import Foundation
import Logging
import Plan
import PostgresDriver
import PostgresTools
import Provision

/// Runs `cleave verify`: for every table of every service, the plan's projection of the source (filters and
/// transforms applied) against the service database, by row count and content checksum, then locates the rows
/// that differ; then the schema each service database should have, and the soft references between them.
///
/// The source is read in one read-only, repeatable-read snapshot (the copy's own with `snapshot`); each service
/// database in one too. Both sides pin the settings that change a value's text, so equal values give equal
/// checksums.
public struct Verifier: Sendable {
  /// The resolved plan, loaded once by the command.
  public var plan: SplitPlan
  /// A snapshot held open by `cleave snapshot`, the one the copy used: verify reads the source as of that instant.
  public var snapshot: String?
  /// Whether each service's result is recorded in its database (`OutcomeStore`), for `status` and `run`.
  public var records = true
  /// Where each service's and table's verification is logged, with its duration.
  public var logger: Logger = .silent

  public init(plan: SplitPlan, snapshot: String? = nil) {
    self.plan = plan
    self.snapshot = snapshot
  }

  /// - Returns: the result per table, per schema object and per soft reference.
  /// - Throws: `CleaveError` when a server cannot be read.
  public func run() async throws -> VerifySummary {
    let plan = self.plan
    let sourceInfo = plan.source
    let source: SerialConnection
    do { source = try await SerialConnection.connect(sourceInfo, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await source.close() } }
    let planned = plan.services.flatMap(\.tables)
    let writesBefore = try? await Self.writes(to: planned, on: source)
    try await source.execute(SessionSettings.sql + "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if let snapshot {
      do { try await source.execute("SET TRANSACTION SNAPSHOT \(try await source.quoteLiteral(snapshot))") } catch {
        throw CleaveError(
          .sourceQueryFailed, "cannot use the source snapshot \(snapshot)",
          hint: "a snapshot lives only while `cleave snapshot` (the session that exported it) keeps running",
          cause: error)
      }
    }
    let catalog = try await CatalogReader(connection: source).read(inOpenTransaction: true)
    var summary = VerifySummary(tables: [])
    for service in plan.services {
      let target = try await connect(plan, service)
      defer { Task { await target.close() } }
      try await target.execute(SessionSettings.sql + "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
      var results: [VerifySummary.TableResult] = []
      try await logger.step("verify: the tables of service \(service.name)") {
        for name in service.tables {
          guard let table = catalog.table(name), table.kind == .ordinary else { continue }
          let result = try await TableVerification(
            service: service, table: table, catalog: catalog, source: source, target: target
          ).run()
          logger.debug("verify: \(name): \(result.status.rawValue), \(result.expectedRows) rows expected")
          results.append(result)
        }
      }
      Self.markMoves(&results)
      summary.tables += results
      summary.schema += try await logger.step("verify: the schema of service \(service.name)") {
        try await SchemaCheck(service: service, catalog: catalog, plan: plan, source: source, target: target).run()
      }
      try? await target.execute("COMMIT")
    }
    try? await source.execute("COMMIT")
    summary.context = Self.context(plan, catalog: catalog)
    summary.source.snapshot = snapshot
    if snapshot == nil, let before = writesBefore, let after = try? await Self.writes(to: planned, on: source) {
      summary.source.writesWhileVerifying = after - before
    }
    summary.references = try await logger.step("verify: soft references between services") {
      try await checkSoftReferences(plan: plan, catalog: catalog)
    }
    if records {
      for service in plan.services {
        let result = summary.result(of: service.name)
        try await OutcomeStore.record(
          "verify", service: service, passed: result.passed, detail: result.detail,
          key: service.outcomeKey(plan.identity))
      }
    }
    return summary
  }

  /// When, against what and with which plan this verify ran.
  static func context(_ plan: SplitPlan, catalog: DatabaseCatalog) -> VerifySummary.Context {
    let bytes = FileManager.default.contents(atPath: plan.file.path) ?? Data()
    var transforms: [String: [String]] = [:]
    for service in plan.services {
      for (table, transform) in service.transforms {
        transforms["\(service.name): \(table)"] = PlanAnalyzer.describe(transform)
      }
    }
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return VerifySummary.Context(
      verifiedAt: formatter.string(from: Date()), source: plan.source.redacted, sourceDatabase: catalog.database,
      planFile: plan.file.path, planIdentity: plan.identity.description,
      planSHA256: SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(), transforms: transforms)
  }

  /// Rows inserted, updated and deleted in `tables` since the server's statistics began (they lag by up to a
  /// second or so: a backend reports them when its transaction ends).
  static func writes(to tables: [QualifiedName], on source: SerialConnection) async throws -> Int {
    let result = try await source.query(
      """
      SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_all_tables
      WHERE relid = ANY($1::regclass[])
      """, [PostgresArray.literal(tables.map(\.quoted))])
    return Int(result.scalar ?? "") ?? 0
  }

  /// A row missing from one partition and extra in a sibling (same source partition tree) was put in the wrong
  /// partition: both examples say so and name the other one.
  static func markMoves(_ results: inout [VerifySummary.TableResult]) {
    for (index, result) in results.enumerated() {
      guard let tree = result.partitionTree, let examples = result.differences?.examples else { continue }
      for (row, example) in examples.enumerated() where example.kind == .missing {
        for (other, candidate) in results.enumerated()
        where other != index && candidate.partitionTree == tree {
          guard
            let found = candidate.differences?.examples.firstIndex(where: { $0.kind == .extra && $0.key == example.key }
            )
          else { continue }
          results[index].differences?.examples[row].kind = .movedOut
          results[index].differences?.examples[row].otherTable = candidate.target
          results[other].differences?.examples[found].kind = .movedIn
          results[other].differences?.examples[found].otherTable = result.target
          break
        }
      }
    }
  }

  /// Every foreign key between tables of two services whose key columns the plan left as they are (a re-keyed
  /// or dropped column changes what the reference means, so it is not checked).
  private func checkSoftReferences(plan: SplitPlan, catalog: DatabaseCatalog) async throws
    -> [VerifySummary.ReferenceResult]
  {
    var results: [VerifySummary.ReferenceResult] = []
    for key in catalog.foreignKeys {
      guard let fromName = plan.owner(of: key.table), let toName = plan.owner(of: key.referencedTable),
        fromName != toName, let fromService = plan.services.first(where: { $0.name == fromName }),
        let toService = plan.services.first(where: { $0.name == toName }),
        let fromTable = catalog.table(key.table), let toTable = catalog.table(key.referencedTable),
        let (fromSide, toSide) =
          sides(key, fromService, fromTable, toService, toTable, catalog)
      else { continue }
      let fromConnection = try await connect(plan, fromService)
      let toConnection = try await connect(plan, toService)
      results.append(
        try await SoftReferenceCheck(
          key: key, from: (fromName, fromSide.table, fromSide.columns, fromConnection),
          to: (toName, toSide.table, toSide.columns, toConnection)
        ).run())
      await fromConnection.close()
      await toConnection.close()
    }
    return results
  }

  /// Both ends of a soft reference in the service databases.
  ///
  /// The key's columns as the projections name them, or, for a one-column key re-keyed through the table it references (`userId` → `User.email`), the re-keyed column
  /// and the column it took its values from. Nil when a column is dropped, or re-keyed through another table.
  private func sides(
    _ key: ForeignKey, _ fromService: ServicePlan, _ fromTable: Table, _ toService: ServicePlan, _ toTable: Table,
    _ catalog: DatabaseCatalog
  ) -> (from: (table: QualifiedName, columns: [String]), to: (table: QualifiedName, columns: [String]))? {
    if let from = side(fromService, fromTable, key.columns, catalog),
      let to = side(toService, toTable, key.referencedColumns, catalog)
    {
      return (from, to)
    }
    let projection = TableProjection(table: fromTable, service: fromService, catalog: catalog)
    guard key.columns.count == 1,
      let column = projection.columns.first(where: { $0.loadName == key.columns[0] }),
      case .rekey(let via, let match, let take, _) = column.origin,
      catalog.partitionRoot(of: via) == catalog.partitionRoot(of: key.referencedTable),
      match == key.referencedColumns[0],
      let to = side(toService, toTable, [take], catalog)
    else { return nil }
    return ((projection.target, [column.finalName]), to)
  }

  /// The table and column names a source table's key has in its service database; nil when the projection
  /// dropped or re-keyed one of the columns.
  private func side(_ service: ServicePlan, _ table: Table, _ columns: [String], _ catalog: DatabaseCatalog) -> (
    table: QualifiedName, columns: [String]
  )? {
    let projection = TableProjection(table: table, service: service, catalog: catalog)
    var mapped: [String] = []
    for column in columns {
      guard !projection.isRekeyed(column), let name = projection.finalName(of: column) else { return nil }
      mapped.append(name)
    }
    return (projection.target, mapped)
  }

  private func connect(_ plan: SplitPlan, _ service: ServicePlan) async throws -> SerialConnection {
    do { return try await SerialConnection.connect(service.server.withDatabase(service.database)) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
  }
}
