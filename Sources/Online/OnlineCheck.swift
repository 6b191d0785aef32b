import Catalog
import CleaveCore
import Plan
import PostgresDriver
import SQLParser

/// `cleave online check`: whether each service can be streamed with PostgreSQL's logical replication as the plan
/// says, found by reading the source only; nothing is created.
///
/// Refused: a source whose `wal_level` is not `logical`, or with no free replication slot or WAL sender; a table
/// without a replica identity (no primary key and no `REPLICA IDENTITY USING INDEX`, or `NOTHING`); a `where` or a
/// dropped column that does not cover the replica identity (PostgreSQL would then make the application's own
/// UPDATE and DELETE on the source fail once the publication exists); unlogged tables; transforms not streamed
/// yet (a renamed table or column, an added or re-keyed column, a schema of a shared database). Noted: `REPLICA IDENTITY FULL` and what it costs.
public struct OnlineCheck: Sendable {
  public let plan: SplitPlan
  /// The services to check; empty means every one.
  public let services: [String]
  /// How long a transaction may have held a moved table before it is refused (the slot and the fence wait for it).
  public var longTransaction: Duration = .seconds(60)

  public init(plan: SplitPlan, services: [String] = []) {
    self.plan = plan
    self.services = services
  }

  /// - Returns: every finding, refusals first.
  /// - Throws: `CleaveError` when the source cannot be reached or read.
  public func run() async throws -> [OnlineFinding] {
    let source: SerialConnection
    do { source = try await SerialConnection.connect(plan.source, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await source.close() } }
    let catalog = try await CatalogReader(connection: source).read()
    var findings: [OnlineFinding] = []
    let chosen = plan.services.filter { services.isEmpty || services.contains($0.name) }
    for setting in try await settingProblems(source) {
      for service in chosen {
        findings.append(
          OnlineFinding(service: service.name, table: nil, refusal: true, message: setting.0, hint: setting.1))
      }
    }
    for service in chosen {
      if let schema = service.schema {
        findings.append(
          OnlineFinding(
            service: service.name, table: nil, refusal: true,
            message: "the service goes to schema \(schema) of the shared database \(service.database): its tables "
              + "change schema, which logical replication cannot stream",
            hint: "give the service a database of its own to split it online, or split it offline (cleave run)"))
      }
      for name in service.tables where catalog.partitionRoot(of: name) == name {
        guard let table = catalog.table(name) else { continue }
        findings += try await tableFindings(table, service: service, catalog: catalog, on: source)
      }
      findings += try await preflightFindings(service, catalog: catalog, source: source)
    }
    return findings.sorted { ($0.refusal ? 0 : 1, $0.service) < ($1.refusal ? 0 : 1, $1.service) }
  }

  /// `wal_level`, and a free replication slot and WAL sender.
  private func settingProblems(_ source: SerialConnection) async throws -> [(String, String)] {
    let row = try await source.query(
      """
      SELECT current_setting('wal_level') AS wal_level,
        current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots) AS free_slots,
        current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication) AS free_senders
      """
    ).namedRows.first
    var problems: [(String, String)] = []
    if let level = row?.string("wal_level"), level != "logical" {
      problems.append(
        (
          "the source's wal_level is \(level): logical replication needs logical",
          "set wal_level = logical on the source and restart it (it cannot change while the server runs)"
        ))
    }
    if (row?.int("free_slots") ?? 0) < 1 {
      problems.append(("the source has no free replication slot", "raise max_replication_slots on the source"))
    }
    if (row?.int("free_senders") ?? 0) < 1 {
      problems.append(("the source has no free WAL sender", "raise max_wal_senders on the source"))
    }
    return problems
  }

  /// Replica identity, its cover by the filter and the column list, persistence, and transforms.
  private func tableFindings(
    _ table: Table, service: ServicePlan, catalog: DatabaseCatalog, on source: SerialConnection
  ) async throws -> [OnlineFinding] {
    var findings: [OnlineFinding] = []
    func refuse(_ message: String, _ hint: String) {
      findings.append(
        OnlineFinding(service: service.name, table: table.name, refusal: true, message: message, hint: hint))
    }
    let identity = try await source.query(
      """
      SELECT c.relreplident::text AS kind, c.relpersistence::text AS persistence,
        ARRAY(SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid
              AND a.attnum = ANY (x.indkey)
              WHERE x.indrelid = c.oid AND ((c.relreplident = 'd' AND x.indisprimary)
                OR (c.relreplident = 'i' AND x.indisreplident))) AS columns
      FROM pg_class c WHERE c.oid = to_regclass($1)
      """, [table.name.quoted]
    ).namedRows.first
    let kind = identity?.string("kind") ?? "d"
    if identity?.string("persistence") == "u" {
      refuse("\(table.name) is unlogged: its changes are not in the WAL", "make it logged (ALTER TABLE … SET LOGGED)")
    }
    var identityColumns = Set(identity?.array("columns") ?? [])
    switch kind {
    case "n":
      refuse(
        "\(table.name) has REPLICA IDENTITY NOTHING: its updates and deletes cannot be replicated",
        "give it a primary key, or REPLICA IDENTITY USING INDEX on a unique index of NOT NULL columns")
    case "f":
      identityColumns = Set(table.columns.map(\.name))
      findings.append(
        OnlineFinding(
          service: service.name, table: table.name, refusal: false,
          message: "\(table.name) has REPLICA IDENTITY FULL: every update and delete writes the whole old row to "
            + "the WAL, and the target finds it by a scan unless it has an index that matches",
          hint: "a primary key is cheaper"))
    default:
      if identityColumns.isEmpty {
        refuse(
          "\(table.name) has no replica identity (no primary key): once published, the application's UPDATE and "
            + "DELETE on it would fail on the source",
          "add a primary key, or set REPLICA IDENTITY USING INDEX on a unique index of NOT NULL columns (or FULL, "
            + "which costs a whole row of WAL per change)")
      }
    }
    guard let transform = service.transforms[table.name] else { return findings }
    if let filter = transform.rowFilter?.value, !identityColumns.isEmpty {
      let used = Set(((try? SQLParser.columnReferences(inExpression: filter)) ?? []).compactMap(\.last))
      let uncovered = used.subtracting(identityColumns).sorted()
      if !uncovered.isEmpty {
        refuse(
          "the `where` of \(table.name) reads \(uncovered.joined(separator: ", ")), which is not in its replica "
            + "identity (\(identityColumns.sorted().joined(separator: ", "))): with that filter published, "
            + "PostgreSQL refuses the application's UPDATE and DELETE on the source",
          "filter on replica-identity columns only, or widen the replica identity (REPLICA IDENTITY FULL)")
      }
    }
    var notStreamed: [String] = []
    if let rename = transform.renameTo?.value { notStreamed.append("the table is renamed to \(rename)") }
    for change in transform.columns {
      switch change.action {
      case .drop:
        if identityColumns.contains(change.column.value) {
          refuse(
            "\(table.name) drops \(change.column.value), which is in its replica identity: a column list without it "
              + "makes PostgreSQL refuse the application's UPDATE and DELETE on the source",
            "keep the column, or choose another replica identity")
        }
      case .rename(let to): notStreamed.append("column \(change.column.value) is renamed to \(to)")
      case .add: notStreamed.append("column \(change.column.value) is added")
      case .rekey: notStreamed.append("column \(change.column.value) is re-keyed")
      }
    }
    if !notStreamed.isEmpty {
      refuse(
        "the transform of \(table.name) is not streamed yet: " + notStreamed.joined(separator: "; "),
        "online streams row filters and dropped columns; split this service offline (cleave run), or wait for "
          + "transform-aware streaming")
    }
    return findings
  }
}
