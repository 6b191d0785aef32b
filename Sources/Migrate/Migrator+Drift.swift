import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools
import Provision
import SQLParser
import Verify

extension Migrator {
  /// The history tables, which drift and baseline leave out of the schema.
  static let historyTables: Set<String> = ["_prisma_migrations", "flyway_schema_history"]

  /// Runs `cleave migrate drift`: builds each chosen service's schema from its migrations and compares it with the
  /// live one.
  ///
  /// The migrations are applied to a scratch database on the service's target (`cleave_drift_<random>`, marked,
  /// dropped after), and tables, columns, indexes and constraints that differ are reported ("schema drift
  /// detected", as the runbooks put it).
  ///
  /// - Returns: per service, the differences (expected: built from the migrations; actual: live).
  /// - Throws: `CleaveError` when the migrations do not apply to an empty database, or a server cannot be read.
  public func drift() async throws -> [(service: String, differences: [SchemaDifference])] {
    var result: [(String, [SchemaDifference])] = []
    for (service, _) in try chosen() {
      let target = service.target ?? plan.targets.first?.name ?? ""
      let server = ConnInfo(plan.target(target)?.endpoint.url ?? "")
      let differences = try await ScratchDatabase.with(on: server, prefix: "cleave_drift_", purpose: "drift check") {
        scratch in
        var derived = plan
        for index in derived.services.indices where derived.services[index].name == service.name {
          derived.services[index].database = scratch
        }
        var builder = Migrator(plan: derived, services: [service.name])
        builder.runAsOwner = false
        let built = try await builder.deploy()
        if let error = built.first?.error {
          throw CleaveError(
            .migrationBlocked, "the migrations of \"\(service.name)\" do not apply to an empty database: \(error)",
            hint: "drift compares what the migrations build with the live schema; fix the failing migration first")
        }
        let expected = try await SerialConnection.connect(server.withDatabase(scratch))
        let live = try await connect(service)
        let differences = try await SchemaComparison.compare(
          expected: expected, actual: live, service: service.name, ignoring: Self.historyTables)
        await expected.close()
        await live.close()
        return differences
      }
      result.append((service.name, differences))
    }
    return result
  }

  /// `cleave migrate baseline`: for a service database that exists without migrations (one Cleave just split
  /// out), writes its schema as the first migration of an empty folder, and records it as applied without running
  /// it.
  ///
  /// The schema is `pg_dump --schema-only --no-owner --no-acl` of the service database, without Cleave's own
  /// `_cleave` schema and the history tables; psql's meta-commands (`\restrict`) and pg_dump's
  /// `set_config('search_path', '', false)`, which would last for the whole deploy session, are left out (found by
  /// parsing).
  ///
  /// - Parameter layout: the layout for a folder that does not say (no `migration_lock.toml`, no files).
  /// - Returns: the files written.
  /// - Throws: `CleaveError` when a folder already holds migrations, or the dump fails.
  public func baseline(layout: MigrationFolder.Layout = .prisma) async throws -> [String] {
    var written: [String] = []
    for (service, path) in try chosen() {
      let manager = FileManager.default
      let existing = manager.fileExists(atPath: path) ? try MigrationFolder.read(path) : nil
      if let existing, !existing.migrations.isEmpty {
        throw CleaveError(
          .baselineRefused,
          "the migrations folder of \"\(service.name)\" (\(path)) already holds \(existing.migrations.count) migration(s)",
          hint: "baseline starts a history: use it on a service whose folder is empty")
      }
      let chosenLayout =
        existing?.layout == .prisma || manager.fileExists(atPath: path + "/migration_lock.toml") ? .prisma : layout
      let target = service.target ?? plan.targets.first?.name ?? ""
      let info = ConnInfo(plan.target(target)?.endpoint.url ?? "").withDatabase(service.database)
      let dump = try await PostgresTool(
        "pg_dump", connectingTo: info,
        arguments: ["--schema-only", "--no-owner", "--no-acl", "--exclude-schema=_cleave"]
          + Self.historyTables.sorted().flatMap { ["--exclude-table", $0] }
      ).run(what: "reading the schema of \(service.database)")
      let script = try Self.baselineScript(from: dump, service: service.name, database: service.database)
      let file =
        chosenLayout == .prisma ? "\(path)/00000000000000_baseline/migration.sql" : "\(path)/V1__baseline.sql"
      do {
        try manager.createDirectory(
          atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path, withIntermediateDirectories: true)
        if chosenLayout == .prisma, !manager.fileExists(atPath: path + "/migration_lock.toml") {
          try "# Written by cleave migrate baseline\nprovider = \"postgresql\"\n".write(
            toFile: path + "/migration_lock.toml", atomically: true, encoding: .utf8)
        }
        try script.write(toFile: file, atomically: true, encoding: .utf8)
      } catch {
        throw CleaveError(.fileWriteFailed, "cannot write \(file): \(error.localizedDescription)")
      }
      let folder = try MigrationFolder.read(path)
      guard let migration = folder.migrations.first else { continue }
      let history = Self.history(folder.layout)
      let connection = try await connect(service)
      // As the owner, like every deploy after it: a history table the admin owned refused the owner's deploys.
      try await Self.becomeOwner(of: service, on: connection)
      try await connection.execute(history.createTable)
      try await connection.execute(
        try await history.recordSuccess(
          migration, startedAt: try await Self.now(connection), milliseconds: 0, on: connection))
      await connection.close()
      written.append(file)
    }
    return written
  }

  /// pg_dump's schema as a migration: psql meta-commands dropped, and the statement that empties `search_path`
  /// for the rest of the session.
  static func baselineScript(from dump: String, service: String, database: String) throws -> String {
    // Lines starting with a backslash are psql's meta-commands, not SQL: the server would reject them.
    let sql = dump.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("\\") }
      .joined(separator: "\n")
    let statements = try SQLParser.statements(in: sql).filter { statement in
      let calls = statement.node.descendants().filter { $0.kind == "FuncCall" }
      return !calls.contains { $0.node["funcname"].array.last?["String"]["sval"].string == "set_config" }
    }
    return "-- Baseline of \(database) (service \(service)), from pg_dump --schema-only, written by cleave migrate "
      + "baseline.\n\n"
      + statements.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) + ";\n" }
      .joined(separator: "\n")
  }
}
