import Catalog
import CleaveCore
import Plan
import PostgresDriver
import Provision

/// What `cleave online` makes on the source for one service: the heartbeat table (`_cleave_online.heartbeat`,
/// whose rows `online status` inserts: an insert always reaches the target, where an update of a row the seed
/// did not copy would be skipped), the publication, and the replication slot.
///
/// The publication lists the service's tables (partition trees by their root, published as the root), each with
/// the plan's `where` as its row filter and, where columns are dropped, a column list; plus the service's
/// heartbeat row. It carries Cleave's mark as its comment, so only this plan's is ever replaced or dropped.
public struct OnlinePublication: Sendable {
  public let service: ServicePlan
  public let identity: PlanIdentity
  public let names: OnlineNames

  public init(service: ServicePlan, identity: PlanIdentity) {
    self.service = service
    self.identity = identity
    self.names = OnlineNames(service: service.name, identity: identity)
  }

  /// The comment on the publication.
  var mark: String { "cleave: online \(service.name); \(identity)" }

  /// The heartbeat's schema and table, on the source or the target.
  static let heartbeatTable = """
    CREATE SCHEMA IF NOT EXISTS _cleave_online;
    REVOKE ALL ON SCHEMA _cleave_online FROM PUBLIC;
    COMMENT ON SCHEMA _cleave_online IS 'cleave: online heartbeat and journal';
    CREATE TABLE IF NOT EXISTS _cleave_online.heartbeat (
      service text NOT NULL,
      beat bigint NOT NULL,
      at timestamptz NOT NULL,
      PRIMARY KEY (service, beat));
    """

  /// `CREATE PUBLICATION …` for the service's tables as the plan projects them.
  func createStatement(catalog: DatabaseCatalog, on source: SerialConnection) async throws -> String {
    var items: [String] = []
    for name in service.tables where catalog.partitionRoot(of: name) == name {
      guard let table = catalog.table(name) else { continue }
      let projection = TableProjection(table: table, service: service, catalog: catalog)
      var item = "TABLE " + name.quoted
      if !projection.dropped.isEmpty {
        item += " (" + projection.loadColumns.map(QualifiedName.quote).joined(separator: ", ") + ")"
      }
      if let filter = projection.rowFilter { item += " WHERE (\(filter))" }
      items.append(item)
    }
    let quotedService = try await source.quoteLiteral(service.name)
    items.append("TABLE _cleave_online.heartbeat WHERE (service = \(quotedService))")
    items.append("TABLE _cleave_online.ddl WHERE (publication = \(try await source.quoteLiteral(names.forward)))")
    return "CREATE PUBLICATION \(names.forward) FOR " + items.joined(separator: ", ")
      + " WITH (publish_via_partition_root = true);\n"
      + "COMMENT ON PUBLICATION \(names.forward) IS \(try await source.quoteLiteral(mark));"
  }

  /// Makes the heartbeat row and the publication as the plan says now, replacing this plan's earlier one.
  ///
  /// - Throws: `CleaveError` (`onlineRefused`) when a publication of that name is not this plan's, or the source
  ///   refuses the publication (a row filter PostgreSQL cannot publish).
  func publish(catalog: DatabaseCatalog, on source: SerialConnection) async throws {
    let existing = try await source.query(
      "SELECT obj_description(oid, 'pg_publication') AS mark FROM pg_publication WHERE pubname = $1",
      [names.forward]
    ).namedRows.first
    if let existing, existing["mark"] != mark {
      throw CleaveError(
        .onlineRefused,
        "the source already has a publication \(names.forward) that is not this plan's (its comment: "
          + "\(existing["mark"].map { "\"\($0)\"" } ?? "none"))",
        hint: "drop it if it is left over (DROP PUBLICATION \(names.forward)), or give the service another name")
    }
    let statement = try await createStatement(catalog: catalog, on: source)
    do {
      try await source.execute(
        "BEGIN; \(Self.heartbeatTable)\n\(DDLWatch.sourceObjects)\n"
          + "DROP PUBLICATION IF EXISTS \(names.forward);\n\(statement)\nCOMMIT")
    } catch {
      try? await source.execute("ROLLBACK")
      throw CleaveError(
        .onlineRefused, "the source refused the publication of service \"\(service.name)\"",
        hint: "a row filter may use only the table's own columns and immutable built-in functions (no "
          + "subquery); `cleave online check` lists what else stops it", cause: error)
    }
  }

  /// Drops this plan's publication and the service's heartbeat and DDL rows; the schema, its tables and the DDL
  /// event trigger go when no other service's are left.
  func unpublish(on source: SerialConnection) async throws {
    let existing = try await source.query(
      "SELECT obj_description(oid, 'pg_publication') AS mark FROM pg_publication WHERE pubname = $1",
      [names.forward]
    ).namedRows.first
    if let existing, existing["mark"] == mark {
      try await source.execute("DROP PUBLICATION \(names.forward)")
    }
    guard try await source.query("SELECT to_regclass('_cleave_online.heartbeat') IS NOT NULL").scalar == "t" else {
      return
    }
    try await source.query("DELETE FROM _cleave_online.heartbeat WHERE service = $1", [service.name])
    if try await source.query("SELECT to_regclass('_cleave_online.ddl') IS NOT NULL").scalar == "t" {
      try await source.query("DELETE FROM _cleave_online.ddl WHERE publication = $1", [names.forward])
    }
    let left = try await source.query(
      """
      SELECT (SELECT count(*) FROM _cleave_online.heartbeat)
        + (SELECT count(*) FROM pg_publication p
           WHERE obj_description(p.oid, 'pg_publication') LIKE 'cleave: online %')
      """
    ).scalar
    // No other service's heartbeat or publication is left: the schema (and with its function, the event trigger)
    // is Cleave's alone.
    if left == "0" { try await source.execute("DROP SCHEMA _cleave_online CASCADE") }
  }
}
