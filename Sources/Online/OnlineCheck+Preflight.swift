import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import SQLParser

/// The checks of `online check` that look past the tables: Cleave's rights on both servers, long transactions on
/// the moved tables, the WAL the seed will hold back, the sequences, large objects, and who writes the tables.
extension OnlineCheck {
  /// The findings about one service that read the servers rather than a table's definition.
  func preflightFindings(_ service: ServicePlan, catalog: DatabaseCatalog, source: SerialConnection) async throws
    -> [OnlineFinding]
  {
    var findings: [OnlineFinding] = []
    func add(_ refusal: Bool, _ message: String, _ hint: String, table: QualifiedName? = nil) {
      findings.append(
        OnlineFinding(service: service.name, table: table, refusal: refusal, message: message, hint: hint))
    }
    let tables = service.tables.filter { catalog.table($0) != nil }
    let list = tables.map(\.quoted).joined(separator: "\n")
    let moved = "SELECT to_regclass(unnest(string_to_array($1, E'\\n')))"

    // Rights on the source: replication, ownership of the published tables, and the DDL watch's event trigger.
    let role = try await source.query(
      "SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user"
    ).namedRows.first
    let superuser = role?.string("rolsuper") == "t"
    if !superuser && role?.string("rolreplication") != "t" {
      add(
        true, "Cleave's source role may not replicate (it is neither a superuser nor has REPLICATION)",
        "ALTER ROLE … REPLICATION, or connect as a role that has it")
    }
    if !superuser {
      let notOwned = try await source.query(
        """
        SELECT format('%I.%I', c.relnamespace::regnamespace, c.relname) FROM pg_class c
        WHERE c.oid IN (\(moved)) AND NOT pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1
        """, [list]
      ).rows.compactMap { $0.first ?? nil }
      if !notOwned.isEmpty {
        add(
          true,
          "Cleave's source role does not own \(notOwned.joined(separator: ", ")): publishing a table and fencing "
            + "it at cutover need its owner", "connect as the tables' owner (or a member of it)")
      }
      add(
        false,
        "Cleave's source role is not a superuser, so DDL on a moved table cannot be watched by an event trigger: a "
          + "column change still stops the stream, with PostgreSQL's own message, but a dropped column or a new "
          + "constraint would not", "connect as a superuser to have every DDL on a moved table stop the stream")
    }
    findings += await targetRights(service)

    // Long transactions on the moved tables: the slot waits for them, and so does the cutover's fence.
    let long = try await source.query(
      """
      SELECT a.pid, a.usename, coalesce(a.application_name, '') AS application, a.state,
        date_trunc('second', now() - a.xact_start)::text AS age
      FROM pg_stat_activity a
      WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
        AND a.xact_start < now() - make_interval(secs => $2::float8)
        AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.relation IN (\(moved)))
      ORDER BY a.xact_start
      """, [list, String(longTransaction.inSeconds)]
    ).namedRows
    if !long.isEmpty {
      add(
        true,
        "transactions have held the moved tables for more than \(Int(longTransaction.inSeconds)) s: "
          + long.map {
            "pid \($0.string("pid")) (\($0.string("usename")), \($0.string("application")), \($0.string("state")), "
              + "\($0.string("age")))"
          }.joined(separator: "; "),
        "making the slot waits for them, and so would the cutover's fence; let them finish (or end them) first")
    }

    findings += try await walFindings(service, list: list, moved: moved, on: source)

    // Sequences: copied at cutover from last_value / is_called.
    let sequences = try await source.query(
      """
      SELECT DISTINCT format('%I.%I', s.relnamespace::regnamespace, s.relname) FROM (
        SELECT d.objid AS seq FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          AND d.refobjid IN (\(moved))
        UNION
        SELECT d.refobjid FROM pg_depend d JOIN pg_attrdef a ON a.oid = d.objid
        WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND a.adrelid IN (\(moved))
      ) x JOIN pg_class s ON s.oid = x.seq AND s.relkind = 'S' ORDER BY 1
      """, [list]
    ).rows.compactMap { $0.first ?? nil }
    if !sequences.isEmpty {
      add(
        false,
        "sequences set at cutover from the source's last_value and is_called (never max(column)): "
          + sequences.joined(separator: ", "), "nothing to do")
    }

    // Large objects live in pg_largeobject, which logical replication does not carry.
    let largeObjectColumns = tables.compactMap { catalog.table($0) }.flatMap { table in
      table.columns.filter { ["oid", "lo", "public.lo"].contains($0.type) }.map { "\(table.name).\($0.name)" }
    }
    if !largeObjectColumns.isEmpty,
      try await source.query("SELECT EXISTS (SELECT 1 FROM pg_largeobject_metadata)").scalar == "t"
    {
      add(
        true,
        "\(largeObjectColumns.joined(separator: ", ")) may reference large objects, which logical replication does "
          + "not carry (the source has some)",
        "move the data into bytea columns, or split this service offline (cleave run), which copies none either")
    }

    findings += try await writerFindings(service, tables: Set(tables), on: source)
    return findings
  }

  /// PostgreSQL 15 lets only a superuser create a subscription (16 adds `pg_create_subscription`).
  private func targetRights(_ service: ServicePlan) async -> [OnlineFinding] {
    let target: SerialConnection
    do { target = try await SerialConnection.connect(service.server, readOnly: true) } catch {
      return [
        OnlineFinding(
          service: service.name, table: nil, refusal: true,
          message: "the target server of \(service.name) cannot be reached: \(error)",
          hint: "check the plan's target (`cleave plan` shows where it points)")
      ]
    }
    defer { Task { await target.close() } }
    let allowed = try? await target.query(
      """
      SELECT rolsuper OR (current_setting('server_version_num')::int >= 160000
        AND pg_has_role(current_user, 'pg_create_subscription', 'MEMBER'))
      FROM pg_roles WHERE rolname = current_user
      """
    ).scalar
    guard allowed != "t" else { return [] }
    return [
      OnlineFinding(
        service: service.name, table: nil, refusal: true,
        message: "Cleave's target role may not create a subscription (PostgreSQL 15 allows only a superuser; 16 "
          + "also members of pg_create_subscription)",
        hint: "connect to the target as a superuser for the online split")
    ]
  }

  /// The WAL the slot will hold back while the seed copies, against `max_slot_wal_keep_size` and free disk.
  private func walFindings(_ service: ServicePlan, list: String, moved: String, on source: SerialConnection)
    async throws -> [OnlineFinding]
  {
    let first = try await source.query(
      """
      SELECT pg_current_wal_lsn()::text AS lsn, clock_timestamp() AS at,
        (SELECT coalesce(sum(pg_total_relation_size(r)), 0) FROM (\(moved)) t(r))::int8 AS bytes,
        current_setting('max_slot_wal_keep_size') AS keep,
        (SELECT setting FROM pg_settings WHERE name = 'data_directory') AS directory
      """, [list]
    ).namedRows.first
    try await Task.sleep(for: .seconds(1))
    let rate =
      try await source.query(
        "SELECT (pg_current_wal_lsn() - $1::pg_lsn) / extract(epoch FROM clock_timestamp() - $2::timestamptz)",
        [first?.string("lsn") ?? "0/0", first?.string("at") ?? "now"]
      ).scalar.flatMap(Double.init) ?? 0
    let bytes = Double(first?.int("bytes") ?? 0)
    // A deliberately low seed rate (the benchmark measures several times this), so the estimate errs high.
    let seedSeconds = max(bytes / Double(Self.assumedSeedBytesPerSecond), 1)
    let estimate = Int64(rate * seedSeconds)
    var message =
      "the seed of about \(Self.formatted(Int64(bytes))) takes about \(Int(seedSeconds.rounded())) s at "
      + "\(Self.formatted(Self.assumedSeedBytesPerSecond))/s; at the source's WAL rate now "
      + "(\(Self.formatted(Int64(rate)))/s) the slot holds back about \(Self.formatted(estimate)) meanwhile"
    var refusal = false
    var hint = "nothing to do"
    let keep = first?.string("keep") ?? "-1"
    if keep != "-1",
      let keepBytes = try await source.query("SELECT pg_size_bytes($1)", [keep]).scalar.flatMap({
        Int64($0)
      }), estimate * 2 > keepBytes
    {
      refusal = true
      message += ", which comes near max_slot_wal_keep_size (\(keep)): PostgreSQL would invalidate the slot"
      hint = "raise max_slot_wal_keep_size, or start when the source writes less"
    }
    if let directory = first?["directory"], Self.isLocal(plan.source),
      let free = (try? FileManager.default.attributesOfFileSystem(forPath: directory + "/pg_wal"))?[
        .systemFreeSize] as? Int64
    {
      message += "; the source's pg_wal has \(Self.formatted(free)) free"
      if estimate * 2 > free {
        refusal = true
        hint = "free disk on the source's WAL volume, or start when the source writes less"
      }
    } else if keep == "-1" {
      message += "; the source's free disk is not known here and max_slot_wal_keep_size is unlimited"
      hint = "make sure the source's WAL volume has room for twice that"
    }
    return [OnlineFinding(service: service.name, table: nil, refusal: refusal, message: message, hint: hint)]
  }

  /// Who writes the moved tables: sessions holding a write lock on one now (`pg_stat_activity`, `pg_locks`), and
  /// the roles whose statements in `pg_stat_statements` (when the extension is in the source database) write one,
  /// found by parsing each statement.
  private func writerFindings(_ service: ServicePlan, tables: Set<QualifiedName>, on source: SerialConnection)
    async throws -> [OnlineFinding]
  {
    var writers: Set<String> = []
    let list = tables.map(\.quoted).joined(separator: "\n")
    for row in try await source.query(
      """
      SELECT DISTINCT a.usename, coalesce(nullif(a.application_name, ''), 'no application name') AS application
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.mode = 'RowExclusiveLock' AND a.pid <> pg_backend_pid()
        AND l.relation IN (SELECT to_regclass(unnest(string_to_array($1, E'\\n'))))
      """, [list]
    ).namedRows {
      writers.insert("\(row.string("usename")) (\(row.string("application")), writing now)")
    }
    var statementsKnown = false
    if try await source.query("SELECT to_regclass('pg_stat_statements') IS NOT NULL").scalar == "t" {
      let rows = try? await source.query(
        """
        SELECT s.userid::regrole::text AS role, s.query, s.calls FROM pg_stat_statements s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY s.calls DESC LIMIT 5000
        """
      ).namedRows
      if let rows {
        statementsKnown = true
        for row in rows {
          guard let written = try? SQLParser.writtenTables(in: row.string("query")) else { continue }
          let hits = written.contains { reference in
            tables.contains(QualifiedName(reference.schema ?? "public", reference.name))
          }
          if hits { writers.insert("\(row.string("role")) (statements in pg_stat_statements)") }
        }
      }
    }
    let message =
      writers.isEmpty
      ? "no writer of the moved tables seen now"
        + (statementsKnown ? " nor in pg_stat_statements" : " (pg_stat_statements is not in the source database)")
      : "the moved tables are written by " + writers.sorted().joined(separator: ", ")
    return [
      OnlineFinding(
        service: service.name, table: nil, refusal: false, message: message,
        hint: "each must connect through the switch the plan names (the PgBouncer entry or your command's), or its "
          + "writes after the cutover are refused by the fence")
    ]
  }

  /// A seed rate well below what `cleave copy` does on a small machine, so the WAL estimate errs high.
  static let assumedSeedBytesPerSecond: Int64 = 20 << 20

  static func formatted(_ bytes: Int64) -> String {
    bytes == 0
      ? "0 bytes"
      : ByteCountFormatter.string(fromByteCount: bytes, countStyle: .binary)
  }

  /// Whether the source server runs on this machine (a socket, or a loopback address), so its disk can be read.
  static func isLocal(_ info: ConnInfo) -> Bool {
    let host = ((try? info.options()) ?? [:])["host"] ?? ""
    return host.isEmpty || host.hasPrefix("/") || host == "localhost" || host.hasPrefix("127.") || host == "::1"
  }
}
