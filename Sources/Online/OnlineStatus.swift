import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver

/// `cleave online status`: each service's state, lag and retained WAL, read from the source, the journal and
/// the subscription; the only thing it writes is the service's heartbeat row on the source (once cut over, on the
/// service database, whose reverse stream carries it back).
///
/// The lag in seconds is measured, not inferred: a heartbeat row is written on the source and the time until
/// the service database has applied it is the lag now. The lag in bytes is the source's WAL position minus
/// the subscription's replication origin (what is applied, not what was sent).
public struct OnlineStatus: Sendable {
  public var plan: SplitPlan
  public var services: [String]
  /// How long to wait for the heartbeat, and the window rates are measured over (at least this long is waited
  /// for the heartbeat before the lag is reported as at least that).
  public var window: Duration = .seconds(1)
  public var heartbeatTimeout: Duration = .seconds(10)

  public init(plan: SplitPlan, services: [String] = []) {
    self.plan = plan
    self.services = services
  }

  /// - Throws: `CleaveError` when a server cannot be reached.
  public func run() async throws -> [OnlineServiceStatus] {
    var result: [OnlineServiceStatus] = []
    for service in plan.services where services.isEmpty || services.contains(service.name) {
      result.append(try await status(of: service))
    }
    return result
  }

  private func status(of service: ServicePlan) async throws -> OnlineServiceStatus {
    let names = OnlineNames(service: service.name, identity: plan.identity)
    var status = OnlineServiceStatus(service: service.name, name: names.forward, tables: [], problems: [])
    let source: SerialConnection
    do { source = try await SerialConnection.connect(plan.source) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    defer { Task { await source.close() } }
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(service.server.withDatabase(service.database)) } catch {
      // Not provisioned yet: never started.
      return status
    }
    defer { Task { await admin.close() } }
    guard let entry = try await OnlineJournal.entry(of: service.name, on: admin) else { return status }
    status.state = entry.state
    status.consistentPoint = entry.consistentPoint
    if let slot = try await source.query(
      """
      SELECT active, (pg_current_wal_lsn() - restart_lsn)::int8::text AS retained
      FROM pg_replication_slots WHERE slot_name = $1
      """, [names.forward]
    ).namedRows.first {
      status.slotActive = slot["active"] == "t"
      status.walRetainedBytes = slot["retained"].flatMap { Int64($0) }
    } else if [.seeding, .streaming, .cuttingOver].contains(entry.state) {
      status.problems.append("the source has no slot \(names.forward): the stream cannot go on")
    }
    if entry.state == .cutOver {
      status.reverse = try await reverse(service, names: names, source: source, admin: admin, status: &status)
    }
    guard entry.state == .streaming || entry.state == .cuttingOver else { return status }
    let subscription = try await admin.query(
      """
      SELECT s.subenabled AS enabled, (SELECT count(*) FROM pg_stat_subscription w
        WHERE w.subid = s.oid AND w.pid IS NOT NULL)::text AS workers
      FROM pg_subscription s
      WHERE s.subname = $1 AND \(OnlineSubscription.inThisDatabase)
      """, [names.forward]
    ).namedRows.first
    let commands = try await DDLWatch.recorded(for: names.forward, on: source)
    status.problems += commands.map { DDLWatch.problem($0) }
    if subscription == nil {
      status.problems.append("the service database has no subscription \(names.forward)")
    } else if subscription?["enabled"] != "t", commands.isEmpty {
      status.problems.append(
        "the stream stopped: subscription \(names.forward) disabled itself after an error applying a change "
          + "(the service database's log says which); a change of a moved table's columns on the source is the "
          + "usual cause, since PostgreSQL does not replicate DDL")
    }
    let clock = ContinuousClock()
    let started = clock.now
    let before = try await sample(admin: admin, source: source, names: names, service: service)
    var arrived: Duration?
    if status.problems.isEmpty, let beat = try await Heartbeat.beat(service.name, on: source) {
      arrived = try await Heartbeat.wait(for: beat, of: service.name, on: admin, timeout: heartbeatTimeout)
    }
    if let arrived {
      status.lagSeconds = arrived.inSeconds
    } else {
      status.lagAtLeastSeconds = (clock.now - started).inSeconds
    }
    let remaining = window - (clock.now - started)
    if remaining > .zero { try await Task.sleep(for: remaining) }
    let after = try await sample(admin: admin, source: source, names: names, service: service)
    let elapsed = max(after.at - before.at, 0.001)
    status.sourcePosition = after.sourcePosition
    status.appliedPosition = after.applied
    status.lagBytes = after.lagBytes
    if let first = before.appliedBytes, let last = after.appliedBytes {
      status.appliedBytesPerSecond = Double(last - first) / elapsed
    }
    status.tables = after.tables.map { name, state, changes in
      OnlineServiceStatus.TableStatus(
        name: name, state: state,
        changesPerSecond: before.tables.first { $0.0 == name }.map { Double(changes - $0.2) / elapsed })
    }
    return status
  }

  /// The reverse stream of a cut-over service: its slot on the service database, its subscription on the source,
  /// and a heartbeat written on the service database (into Cleave's own table there) and waited for on the source.
  private func reverse(
    _ service: ServicePlan, names: OnlineNames, source: SerialConnection, admin: SerialConnection,
    status: inout OnlineServiceStatus
  ) async throws -> ReverseStreamStatus {
    var reverse = ReverseStreamStatus(name: names.reverse)
    let position = try await admin.query("SELECT pg_current_wal_lsn()::text").scalar
    if let slot = try await admin.query(
      """
      SELECT active, ($2::pg_lsn - restart_lsn)::int8::text AS retained
      FROM pg_replication_slots WHERE slot_name = $1
      """, [names.reverse, position]
    ).namedRows.first {
      reverse.slotActive = slot["active"] == "t"
      reverse.walRetainedBytes = slot["retained"].flatMap { Int64($0) }
    } else {
      status.problems.append(
        "the service database has no slot \(names.reverse): the reverse stream cannot go on, and a rollback would "
          + "lose the service's writes since the cutover")
    }
    let subscription = try await source.query(
      """
      SELECT s.subenabled AS enabled, o.remote_lsn::text AS applied, ($2::pg_lsn - o.remote_lsn)::int8::text AS lag
      FROM pg_subscription s LEFT JOIN pg_replication_origin_status o ON o.external_id = 'pg_' || s.oid
      WHERE s.subname = $1 AND \(OnlineSubscription.inThisDatabase)
      """, [names.reverse, position]
    ).namedRows.first
    reverse.appliedPosition = subscription?["applied"]
    reverse.lagBytes = subscription?["lag"].flatMap { Int64($0) }
    if subscription == nil {
      status.problems.append("the source has no subscription \(names.reverse): the reverse stream is not running")
    } else if subscription?["enabled"] != "t" {
      status.problems.append(
        "the reverse stream stopped: subscription \(names.reverse) on the source disabled itself after an error "
          + "applying a change (the source's log says which); until it runs again a rollback would lose writes")
    }
    let clock = ContinuousClock()
    let started = clock.now
    if subscription?["enabled"] == "t", let beat = try await Heartbeat.beat(service.name, on: admin),
      let arrived = try await Heartbeat.wait(for: beat, of: service.name, on: source, timeout: heartbeatTimeout)
    {
      reverse.lagSeconds = arrived.inSeconds
    } else {
      reverse.lagAtLeastSeconds = (clock.now - started).inSeconds
    }
    return reverse
  }

  private struct Sample {
    var at: Double
    var sourcePosition: String?
    var applied: String?
    var appliedBytes: Int64?
    var lagBytes: Int64?
    var tables: [(String, String, Int64)]
  }

  /// The positions and each table's applied changes, now.
  private func sample(admin: SerialConnection, source: SerialConnection, names: OnlineNames, service: ServicePlan)
    async throws -> Sample
  {
    let at = Date().timeIntervalSince1970
    let position = try await source.query("SELECT pg_current_wal_lsn()::text").scalar
    let applied = try await admin.query(
      """
      SELECT o.remote_lsn::text AS applied, (o.remote_lsn - '0/0'::pg_lsn)::int8::text AS bytes,
        ($2::pg_lsn - o.remote_lsn)::int8::text AS lag
      FROM pg_subscription s JOIN pg_replication_origin_status o ON o.external_id = 'pg_' || s.oid
      WHERE s.subname = $1 AND \(OnlineSubscription.inThisDatabase)
      """, [names.forward, position]
    ).namedRows.first
    let tables = try await admin.query(
      """
      SELECT format('%I.%I', n.nspname, c.relname) AS name,
        CASE r.srsubstate WHEN 'r' THEN 'streaming' ELSE r.srsubstate::text END AS state,
        (coalesce(t.n_tup_ins, 0) + coalesce(t.n_tup_upd, 0) + coalesce(t.n_tup_del, 0))::text AS changes
      FROM pg_subscription s JOIN pg_subscription_rel r ON r.srsubid = s.oid
        JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_user_tables t ON t.relid = c.oid
      WHERE s.subname = $1 AND \(OnlineSubscription.inThisDatabase)
        AND n.nspname <> '_cleave_online'
      ORDER BY 1
      """, [names.forward]
    ).namedRows.map { ($0.string("name"), $0.string("state"), Int64($0.string("changes")) ?? 0) }
    return Sample(
      at: at, sourcePosition: position, applied: applied?["applied"],
      appliedBytes: applied?["bytes"].flatMap { Int64($0) }, lagBytes: applied?["lag"].flatMap { Int64($0) },
      tables: tables)
  }
}
