import Catalog
import CleaveCore
import Plan
import PostgresDriver

/// The stream from the service database back to the source, made at cutover so that a rollback after the
/// application wrote to the service database loses nothing: a publication and a slot on the service database,
/// and a subscription on the source (`cleave_<service>_<plan>_back`).
///
/// The publication is made before the pause; the slot inside the freeze, once the forward stream is applied and
/// its worker gone: so it carries exactly what the application writes to the service database after the switch,
/// and nothing the forward stream wrote there. (A slot made before the pause and advanced past the forward
/// stream's writes let one of them through when a killed cutover was resumed; making it here rules that out.) The source's fence does not stop it: the apply worker runs
/// with `session_replication_role = replica`, under which the fence's triggers do not fire.
struct ReverseStream: Sendable {
  let context: OnlineContext
  let identity: PlanIdentity

  var name: String { context.names.reverse }

  /// The publication (every moved table under its name in the service database, and the heartbeat), on the
  /// service database.
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
  }

  /// Inside the freeze, once the forward subscription is disabled: waits for its apply worker to end, then makes
  /// the slot (its consistent point comes after everything the forward stream wrote, and nothing else writes to
  /// the service database while the application is paused), then subscribes the source.
  ///
  /// - Throws: `CleaveError` (`cutoverAborted`) when the forward apply worker is still there, or the slot is not
  ///   made (making one waits for every transaction running on the server), at `deadline`.
  func start(before deadline: ContinuousClock.Instant) async throws {
    let admin = context.admin
    try await OnlineSubscription.waitForWorker(context.names.forward, on: admin, before: deadline)
    _ = try await OnlineSlot.make(name, on: admin, within: deadline - ContinuousClock.now)
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
