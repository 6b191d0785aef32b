import Catalog
import CleaveCore
import Plan
import PostgresDriver

/// The stream from the service database back to the source, made at cutover so that a rollback after the
/// application wrote to the service database loses nothing: a publication and a slot on the service database,
/// and a subscription on the source (`cleave_<service>_<plan>_back`).
///
/// The slot is made before the pause (its creation waits for the target's running transactions, which must not
/// count against the freeze), and advanced inside the freeze to the target's position once the forward stream is
/// applied and stopped: so it carries exactly what the application writes to the service database after the
/// switch, and nothing the forward stream wrote there. The source's fence does not stop it: the apply worker runs
/// with `session_replication_role = replica`, under which the fence's triggers do not fire.
struct ReverseStream: Sendable {
  let context: OnlineContext
  let identity: PlanIdentity

  var name: String { context.names.reverse }

  /// The publication (every moved table under its name in the service database, and the heartbeat) and the slot,
  /// on the service database.
  func prepare(catalog: DatabaseCatalog) async throws {
    let admin = context.admin
    try await drop()
    var tables: [String] = []
    for table in context.service.tables where catalog.partitionRoot(of: table) == table {
      guard let source = catalog.table(table) else { continue }
      tables.append(TableProjection(table: source, service: context.service, catalog: catalog).target.quoted)
    }
    tables.append(
      "_cleave_online.heartbeat WHERE (service = \(try await admin.quoteLiteral(context.service.name)))")
    try await admin.execute(
      "CREATE PUBLICATION \(name) FOR " + tables.map { "TABLE " + $0 }.joined(separator: ", ")
        + " WITH (publish_via_partition_root = true)")
    try await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name])
  }

  /// Inside the freeze, once the forward subscription is disabled: waits for its apply worker to end, flushes the
  /// service database's WAL (a slot advances only as far as the WAL is flushed, and apply workers commit
  /// asynchronously), moves the slot there, then subscribes the source.
  ///
  /// - Throws: `CleaveError` (`cutoverAborted`) when the forward apply worker is still there at `deadline`.
  func start(before deadline: ContinuousClock.Instant) async throws {
    let admin = context.admin
    try await OnlineSubscription.waitForWorker(context.names.forward, on: admin, before: deadline)
    try await admin.execute("BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT")
    try await admin.query("SELECT pg_replication_slot_advance($1, pg_current_wal_flush_lsn())", [name])
    let source = context.source
    try await source.execute(
      """
      BEGIN;
      SET LOCAL log_statement = 'none';
      SET LOCAL log_min_error_statement = 'panic';
      SET LOCAL pg_stat_statements.track_utility = off;
      CREATE SUBSCRIPTION \(name) CONNECTION \(try await source.quoteLiteral(context.targetForServer))
        PUBLICATION \(name)
        WITH (copy_data = false, create_slot = false, slot_name = \(try await source.quoteLiteral(name)),
              binary = true, disable_on_error = true);
      COMMIT
      """)
  }

  /// Removes the subscription on the source, then the slot and the publication on the service database; what is
  /// not there is skipped.
  func drop() async throws {
    try await OnlineSubscription.drop(name, on: context.source)
    try await OnlineSlot.drop(name, service: context.service.name, on: context.admin)
    try await context.admin.execute("DROP PUBLICATION IF EXISTS \(name)")
  }
}
