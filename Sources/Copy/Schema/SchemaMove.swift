import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import PostgresTools
import Provision

/// Moves a service copied into its staging database into its schema of the shared database: the staging
/// schema is renamed to the service's schema, then `pg_dump -n SCHEMA | pg_restore` (schema and data, as the
/// owner role, one transaction) puts it in the shared database, and the staging database is dropped.
///
/// The service's tables must come from one source schema; the types and functions in that schema move with
/// them. The move records itself in the shared database's `_cleave.progress`; a rerun after a crash starts the
/// move over from a dropped schema.
struct SchemaMove {
  let service: ServicePlan
  let staging: ProvisionedService
  let shared: ProvisionedService
  let identity: PlanIdentity
  let workDirectory: String
  /// The shape the service was copied for, recorded with the move.
  let fingerprint: ServiceFingerprint

  /// Forgets that an earlier run moved `service` into its schema, so the copy starts it over (`--recopy`); the
  /// move drops the schema before it restores it again.
  static func forget(_ service: ServicePlan, shared: ProvisionedService) async throws {
    let connection = try await SerialConnection.connect(shared.database)
    defer { Task { await connection.close() } }
    guard try await connection.query("SELECT to_regclass('_cleave.progress') IS NOT NULL").scalar == "t" else {
      return
    }
    try await connection.query("DELETE FROM _cleave.progress WHERE step = $1", ["moved \(service.name)"])
    if try await connection.query("SELECT to_regclass('_cleave.outcome') IS NOT NULL").scalar == "t" {
      try await connection.query("DELETE FROM _cleave.outcome WHERE service = $1", [service.name])
    }
  }

  /// When an earlier run already moved `service` into its schema: what is there now (rows counted in the shared
  /// database) and the shape it was copied for; nil when the move has not happened.
  static func finished(_ service: ServicePlan, shared: ProvisionedService) async throws -> (
    result: CopySummary.ServiceResult, fingerprint: ServiceFingerprint?
  )? {
    guard let schema = service.schema else { return nil }
    let connection = try await SerialConnection.connect(shared.database)
    defer { Task { await connection.close() } }
    let exists = try await connection.query("SELECT to_regclass('_cleave.progress') IS NOT NULL").scalar == "t"
    guard exists,
      let row = try await connection.query(
        "SELECT detail FROM _cleave.progress WHERE step = $1", ["moved \(service.name)"]
      ).namedRows.first
    else { return nil }
    var tables: [CopySummary.TableResult] = []
    for table in service.tables {
      let moved = QualifiedName(schema, table.name)
      let rows = try? await connection.query("SELECT count(*) FROM ONLY \(moved.quoted)").scalar.flatMap { Int($0) }
      tables.append(.init(table: table, rows: rows ?? 0, bytes: 0, resumed: true))
    }
    let result = CopySummary.ServiceResult(
      name: service.name, database: "\(service.database) (schema \(schema))", tables: tables, schemaSteps: 0,
      sequences: 0, skippedForeignKeys: 0)
    return (result, row["detail"].map { ServiceFingerprint(recorded: $0) })
  }

  func run() async throws {
    guard let schema = service.schema else { return }
    let step = "moved \(service.name)"
    let sharedAdmin = try await SerialConnection.connect(shared.database)
    defer { Task { await sharedAdmin.close() } }
    try await sharedAdmin.execute(ProgressStore.create)
    if try await sharedAdmin.query("SELECT 1 FROM _cleave.progress WHERE step = $1", [step]).rows.isEmpty == false {
      return
    }
    let sourceSchemas = Set(service.tables.map(\.schema))
    guard sourceSchemas.count == 1, let sourceSchema = sourceSchemas.first else {
      throw CleaveError(
        .copyFailed,
        "service \"\(service.name)\" goes to schema \(schema) of a shared database, but its tables come from "
          + "several schemas: \(sourceSchemas.sorted().joined(separator: ", "))",
        hint: "split it into services whose tables each come from one schema, or give it a database of its own")
    }
    let stagingAdmin = try await SerialConnection.connect(staging.database)
    defer { Task { await stagingAdmin.close() } }
    let quotedSchema = QualifiedName.quote(schema)
    let renamed =
      try await stagingAdmin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]).rows
      .isEmpty == false
    if !renamed {
      try await stagingAdmin.execute(
        "ALTER SCHEMA \(QualifiedName.quote(sourceSchema)) RENAME TO \(quotedSchema)")
    }
    let dump = workDirectory + "/\(service.name)-move.dump"
    try await PostgresTool(
      "pg_dump", connectingTo: staging.database,
      arguments: ["--format=custom", "--no-owner", "--no-privileges", "--schema=\(quotedSchema)", "--file=\(dump)"]
    ).run(what: "dumping the staged service \"\(service.name)\"")
    try await sharedAdmin.execute("DROP SCHEMA IF EXISTS \(quotedSchema) CASCADE")
    try await PostgresTool(
      "pg_restore", connectingTo: shared.database,
      arguments: [
        "--no-owner", "--no-privileges", "--role=\(shared.roles.owner)", "--single-transaction", "--exit-on-error",
        dump,
      ]
    ).run(what: "moving service \"\(service.name)\" into schema \(schema) of \(shared.databaseName)")
    try await sharedAdmin.execute(
      "GRANT USAGE ON SCHEMA \(quotedSchema) TO \(QualifiedName.quote(shared.roles.login)); "
        + "INSERT INTO _cleave.progress (step, detail) VALUES (\(try await sharedAdmin.quoteLiteral(step)), "
        + "\(try await sharedAdmin.quoteLiteral(fingerprint.text)))")
    await stagingAdmin.close()
    try await StagingDatabase.drop(for: service, identity: identity)
    try? FileManager.default.removeItem(atPath: dump)
  }
}
