import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver
import Provision
import SQLParser

/// Runs `cleave migrate` for the services of a plan: status, deploy, resolve, in each service's own layout and
/// history table (`MigrationFolder`, `History`).
///
/// Deploy takes a session-level advisory lock per database on a connection of its own, which stays idle while
/// the migrations run on another: an idle session's lock does not make `CREATE INDEX CONCURRENTLY` wait (it waits
/// for transactions, not sessions; Flyway's issue #1654 came from holding the lock inside one), and a killed
/// deploy's session ends and takes its lock with it. Each migration runs in one transaction with its history
/// row, except one holding a statement PostgreSQL refuses inside a transaction (found by parsing): its statements
/// then run one by one, and the row is written after them. Migrations run as the service's owner role when
/// Cleave created it, so the objects they create belong to it.
public struct Migrator: Sendable {
  public var plan: PlanFile
  /// The services to act on (all of the plan's with a `migrations:` folder when empty).
  public var services: [String]
  /// How long a deploy waits for another one holding the database's migration lock.
  public var lockWait: Duration = .seconds(600)
  /// Whether migrations run as the service's owner role when it exists (not in drift's scratch database).
  public var runAsOwner = true
  /// Where each migration applied is logged, with its duration.
  public var logger: Logger = .silent

  public init(plan: PlanFile, services: [String] = []) {
    self.plan = plan
    self.services = services
  }

  /// The chosen services with their migrations folder, resolved against the plan's folder.
  public func chosen() throws(CleaveError) -> [(service: Service, folder: String)] {
    let base = URL(fileURLWithPath: plan.path).deletingLastPathComponent().path
    var result: [(Service, String)] = []
    for service in plan.services where services.isEmpty || services.contains(service.name) {
      guard let folder = service.migrations else { continue }
      result.append((service, folder.hasPrefix("/") ? folder : base + "/" + folder))
    }
    for name in services where !plan.services.contains(where: { $0.name == name }) {
      throw CleaveError(.planUnknownTarget, "the plan has no service \"\(name)\"")
    }
    guard !result.isEmpty else {
      throw CleaveError(
        .planMissingKey, "no service of the plan names a `migrations:` folder",
        hint: "add `migrations: path/to/migrations` to each service that has migrations")
    }
    return result
  }

  /// The `application_name` of every deploy session, so a later deploy can find what an earlier one left running.
  static let applicationName = "cleave migrate"

  func connect(_ service: Service) async throws -> SerialConnection {
    let target = service.target ?? plan.targets.first?.name ?? ""
    let info = ConnInfo(plan.target(target)?.endpoint.url ?? "").withDatabase(service.database)
      .with("application_name", Self.applicationName)
    do { return try await SerialConnection.connect(info) } catch {
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
  }

  /// Makes the session act as the service's owner role (`SET ROLE`), so that what migrations and the history
  /// table create belongs to it, as for a deploy by the owner itself.
  ///
  /// Only a role Cleave created and this login may become: an unrelated role that happens to have the name is
  /// left alone, and the session stays the connecting user.
  static func becomeOwner(of service: Service, on work: SerialConnection) async throws {
    let owner = ServiceRoles(database: service.database, schema: service.schema).owner
    let mayBecome =
      try await work.query(
        "SELECT 1 FROM pg_roles WHERE rolname = $1 AND shobj_description(oid, 'pg_authid') LIKE 'cleave: %' "
          + "AND pg_has_role(current_user, oid, 'MEMBER')", [owner]
      ).rows.isEmpty == false
    if mayBecome { try await work.execute("SET ROLE \(try await work.quoteIdentifier(owner))") }
  }

  static func history(_ layout: MigrationFolder.Layout) -> any History {
    layout == .prisma ? PrismaHistory() : FlywayHistory()
  }

  /// Compares a folder with a history.
  static func compare(_ folder: MigrationFolder, _ rows: [AppliedMigration], service: String) -> MigrationStatus {
    var status = MigrationStatus(service: service, layout: folder.layout)
    let files = Dictionary(folder.migrations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    var latest: [String: AppliedMigration] = [:]
    for row in rows where !row.rolledBack { latest[row.name] = row }
    for migration in folder.migrations {
      guard let row = latest[migration.name] else {
        status.pending.append(migration.name)
        continue
      }
      if row.failed {
        status.failed.append(migration.name)
      } else if row.checksum != migration.checksum {
        // A repeatable script runs again when it changes; a versioned one was edited after it was applied.
        if migration.kind == .repeatable {
          status.pending.append(migration.name)
        } else {
          status.modified.append(migration.name)
          status.applied.append(migration.name)
        }
      } else {
        status.applied.append(migration.name)
      }
    }
    for (name, row) in latest where files[name] == nil && row.succeeded { status.missing.append(name) }
    status.missing.sort()
    return status
  }

  /// Each chosen service's status; a service whose database has no history table has everything pending.
  ///
  /// - Throws: `CleaveError` when a folder or a database cannot be read.
  public func status() async throws -> [MigrationStatus] {
    var result: [MigrationStatus] = []
    for (service, path) in try chosen() {
      let folder = try MigrationFolder.read(path)
      let connection = try await connect(service)
      let history = Self.history(folder.layout)
      let table = folder.layout == .prisma ? "_prisma_migrations" : "flyway_schema_history"
      let exists = try await connection.query("SELECT to_regclass($1) IS NOT NULL", [table]).scalar == "t"
      let rows = exists ? try await history.rows(on: connection) : []
      await connection.close()
      result.append(Self.compare(folder, rows, service: service.name))
    }
    return result
  }

  /// Applies every pending migration: services in parallel, each service's in order; a failure stops that
  /// service only.
  ///
  /// - Parameter dryRun: say what would run, and run nothing.
  /// - Returns: each service's status after the run, with what it applied and any error.
  /// - Throws: `CleaveError` when a folder or a database cannot be read, or the lock waits too long.
  public func deploy(dryRun: Bool = false) async throws -> [MigrationStatus] {
    let chosen = try chosen()
    return try await withThrowingTaskGroup(of: (Int, MigrationStatus).self) { group in
      for (index, entry) in chosen.enumerated() {
        group.addTask { (index, try await deploy(entry.service, folder: entry.folder, dryRun: dryRun)) }
      }
      var results: [(Int, MigrationStatus)] = []
      for try await result in group { results.append(result) }
      return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
  }

  private func deploy(_ service: Service, folder path: String, dryRun: Bool) async throws -> MigrationStatus {
    let folder = try MigrationFolder.read(path)
    let history = Self.history(folder.layout)
    let lock = try await connect(service)
    let work = try await connect(service)
    defer {
      Task {
        await work.close()
        await lock.close()
      }
    }
    // Held until `lock` closes (when this deploy returns, or its process dies). Taken by polling
    // `pg_try_advisory_lock`, never by waiting inside `pg_advisory_lock`: a session waiting inside a statement
    // holds a snapshot, which another deploy's `CREATE INDEX CONCURRENTLY` would wait for while that deploy holds
    // the lock we wait on, a deadlock no server can see (Flyway's issue #1654).
    if !dryRun {
      let clock = ContinuousClock()
      let deadline = clock.now + lockWait
      while try await lock.query("SELECT pg_try_advisory_lock($1)", [String(history.lockKey)]).scalar != "t" {
        guard clock.now < deadline else {
          throw CleaveError(
            .migrationBlocked,
            "another deploy (Cleave's or Prisma's) has held the migration lock of \(service.database) for "
              + "\(lockWait.components.seconds) s",
            hint: "let it finish; a deploy that died has released the lock with its session")
        }
        try await Task.sleep(for: .milliseconds(100))
      }
    }
    if runAsOwner { try await Self.becomeOwner(of: service, on: work) }
    let table = folder.layout == .prisma ? "_prisma_migrations" : "flyway_schema_history"
    let exists = try await work.query("SELECT to_regclass($1) IS NOT NULL", [table]).scalar == "t"
    if !exists && !dryRun { try await work.execute(history.createTable) }
    var status = Self.compare(folder, exists ? try await history.rows(on: work) : [], service: service.name)
    // Before anything else: an index build a killed deploy left running, or the invalid index it left.
    if !dryRun, !status.pending.isEmpty || !status.failed.isEmpty,
      let problem = try await LeftBehind.check(on: work, wait: lockWait, logger: logger)
    {
      status.error = problem
      return status
    }
    if let blocking = status.failed.first {
      status.error =
        "migration \(blocking) failed before and blocks this service: fix it, then `cleave migrate resolve "
        + "--rolled-back \(blocking)` (to run it again) or `--applied \(blocking)` (if you completed it by hand)"
      return status
    }
    let pending = folder.migrations.filter { status.pending.contains($0.name) }
    let findings = pending.flatMap { MigrationLinter.lint($0) }
    // A first deploy replays an existing history into an empty database: its findings are counted, not listed
    // (the first deploy of a real history printed 603 of them); new migrations later get every detail.
    if status.applied.isEmpty && pending.count > 1 {
      for finding in findings { status.historyFindings[finding.rule, default: 0] += 1 }
    } else {
      status.findings = findings
    }
    if dryRun {
      status.appliedNow = []
      return status
    }

    for migration in pending {
      let statements: [ParsedStatement]
      do { statements = try SQLParser.statements(in: migration.script) } catch {
        try await history.recordFailure(
          migration, startedAt: try await Self.now(work), error: "does not parse: \(error)", on: work)
        status.error = "\(migration.name) does not parse: \(error)"
        status.failed.append(migration.name)
        break
      }
      let startedAt = try await Self.now(work)
      let clock = ContinuousClock()
      let start = clock.now
      do {
        if statements.contains(where: \.runsOutsideTransaction) {
          // Outside a transaction a kill leaves it half done: it is recorded failed before it starts (as Prisma
          // records a started migration), so the next deploy stops on it instead of running it again blindly.
          try await history.recordFailure(
            migration, startedAt: startedAt,
            error: "interrupted: started at \(startedAt) and did not finish; it runs outside a transaction (CREATE "
              + "INDEX CONCURRENTLY), so it may be partly applied: check, then `cleave migrate resolve`",
            on: work)
          for statement in statements { try await work.execute(statement.text) }
          let elapsed = clock.now - start
          try await history.clearInterrupted(migration.name, on: work)
          try await work.execute(
            try await history.recordSuccess(
              migration, startedAt: startedAt, milliseconds: Int(elapsed.components.seconds * 1000), on: work))
        } else {
          try await work.execute("BEGIN")
          try await work.execute(migration.script)
          let elapsed = clock.now - start
          try await work.execute(
            try await history.recordSuccess(
              migration, startedAt: startedAt, milliseconds: Int(elapsed.components.seconds * 1000), on: work)
              + "; COMMIT")
        }
        logger.info(
          "applied \(migration.name) to \(service.database) in \(Logger.seconds(clock.now - start))",
          metadata: ["service": "\(service.name)"])
        status.appliedNow.append(migration.name)
        status.pending.removeAll { $0 == migration.name }
        status.applied.append(migration.name)
      } catch {
        try? await work.execute("ROLLBACK")
        let message = (error as? PostgresError)?.message ?? "\(error)"
        try? await history.clearInterrupted(migration.name, on: work)
        try await history.recordFailure(migration, startedAt: startedAt, error: message, on: work)
        status.error = "\(migration.name) failed: \(message)"
        status.failed.append(migration.name)
        status.pending.removeAll { $0 == migration.name }
        break
      }
    }
    return status
  }

  static func now(_ connection: SerialConnection) async throws -> String {
    try await connection.query("SELECT clock_timestamp()::text").scalar ?? ""
  }

  /// `cleave migrate resolve`: marks a failed migration rolled back (it will run again), or a migration applied
  /// (completed by hand), as `prisma migrate resolve` does.
  ///
  /// - Throws: `CleaveError` when the migration is not in the folder, or (rolled back) has no failed row.
  public func resolve(_ name: String, applied: Bool) async throws {
    for (service, path) in try chosen() {
      let folder = try MigrationFolder.read(path)
      guard let migration = folder.migrations.first(where: { $0.name == name }) else { continue }
      let history = Self.history(folder.layout)
      let connection = try await connect(service)
      defer { Task { await connection.close() } }
      try await connection.execute(history.createTable)
      let rolledBack = try await history.markRolledBack(name, on: connection)
      if applied {
        try await connection.execute(
          try await history.recordSuccess(
            migration, startedAt: try await Self.now(connection), milliseconds: 0, on: connection))
      } else if !rolledBack {
        throw CleaveError(
          .migrationNotFound, "\(name) of service \"\(service.name)\" has no failed run to mark rolled back",
          hint: "`cleave migrate status` lists the failed migrations")
      }
      return
    }
    throw CleaveError(
      .migrationNotFound, "no service has a migration called \(name)",
      hint: "give the folder name (Prisma) or the file name (Flyway), as `cleave migrate status` lists them")
  }

  /// `cleave migrate new NAME --service S`: the next migration file in the service's layout, empty but for a
  /// comment.
  ///
  /// - Returns: the path of the new file.
  /// - Throws: `CleaveError` when the folder cannot be read or written.
  public func new(_ name: String, date: Date = Date()) throws -> String {
    guard let (service, path) = try chosen().first else { return "" }
    let manager = FileManager.default
    let layout =
      manager.fileExists(atPath: path) ? (try? MigrationFolder.read(path))?.layout ?? .prisma : .prisma
    let slug = String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    let header = "-- \(name) (service \(service.name))\n"
    let file: String
    if layout == .prisma {
      let formatter = DateFormatter()
      formatter.dateFormat = "yyyyMMddHHmmss"
      formatter.timeZone = TimeZone(identifier: "UTC")
      file = "\(path)/\(formatter.string(from: date))_\(slug)/migration.sql"
    } else {
      let folder = try MigrationFolder.read(path)
      let last = folder.migrations.compactMap { $0.version?.split(separator: ".").first.flatMap { Int($0) } }.max() ?? 0
      file = "\(path)/V\(last + 1)__\(slug).sql"
    }
    do {
      try manager.createDirectory(
        atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path, withIntermediateDirectories: true)
      try header.write(toFile: file, atomically: true, encoding: .utf8)
    } catch {
      throw CleaveError(.fileWriteFailed, "cannot write \(file): \(error.localizedDescription)")
    }
    return file
  }
}
