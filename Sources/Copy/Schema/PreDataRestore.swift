import Catalog
import CleaveCore
import Plan
import PostgresDriver
import PostgresTools
import Provision

/// Creates a service's types, functions, tables and sequences from the schema dump (`pg_restore`, pre-data
/// section), then makes the transform's column changes that must exist before the data arrives.
///
/// It starts from an empty database every time it runs: whatever an interrupted earlier attempt left is dropped
/// first (the database is Cleave's own), so the step either finished and is recorded, or is redone whole.
struct PreDataRestore {
  let archive: SchemaArchive
  let selection: SchemaSelection
  let service: ServicePlan
  let target: ProvisionedService
  let catalog: DatabaseCatalog
  let workDirectory: String
  /// Recorded with the step, so later runs can tell whether the source or the plan changed under the tables.
  let fingerprint: ServiceFingerprint

  func run(admin: SerialConnection) async throws {
    do {
      try await reset(admin: admin)
    } catch {
      throw CleaveError(
        .schemaCopyFailed, "cannot clear database \(target.databaseName) of service \"\(service.name)\"", cause: error)
    }
    let entries = archive.preData.filter(selection.includes)
    // Extensions (and comments on them) need the target's admin; everything else is created as the owner role.
    let asAdmin = entries.filter { $0.kind == "EXTENSION" || $0.line.contains(" EXTENSION ") }
    let asOwner = entries.filter { !asAdmin.contains($0) }
    let prefix = workDirectory + "/\(service.name)"
    if !asAdmin.isEmpty {
      try archive.writeList(asAdmin, to: prefix + "-extensions.list")
      try await restore(list: prefix + "-extensions.list", extra: [], what: "creating extensions")
    }
    try archive.writeList(asOwner, to: prefix + "-pre-data.list")
    try await restore(
      list: prefix + "-pre-data.list", extra: ["--role=\(target.roles.owner)", "--single-transaction"],
      what: "creating the tables of service \"\(service.name)\"")
    do {
      try await admin.execute("BEGIN; " + ProgressStore.create)
      for statement in try columnChanges() { try await admin.execute(statement) }
      try await admin.query(
        "INSERT INTO _cleave.progress (step, detail) VALUES ($1, $2)", [ServiceFingerprint.step, fingerprint.text])
      try await admin.execute("INSERT INTO _cleave.progress (step) VALUES ('pre-data'); COMMIT")
    } catch {
      try? await admin.execute("ROLLBACK")
      throw CleaveError(
        .schemaCopyFailed, "applying the transforms of service \"\(service.name)\" to its tables failed", cause: error)
    }
  }

  private func restore(list: String, extra: [String], what: String) async throws {
    try await PostgresTool(
      "pg_restore", connectingTo: target.database,
      arguments: ["--no-owner", "--no-privileges", "--exit-on-error", "--use-list=\(list)"] + extra + [archive.path]
    ).run(what: what)
  }

  /// Drops every schema and extension a previous attempt may have left, and recreates an empty `public`; keeps
  /// `_cleave_online`, the journal of an online split seeding this database.
  private func reset(admin: SerialConnection) async throws {
    let schemas = try await admin.query(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
        + "AND nspname NOT LIKE 'pg\\_%' AND nspname <> '_cleave_online' ORDER BY 1")
    let extensions = try await admin.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
    var script = ""
    for row in extensions.rows { script += "DROP EXTENSION IF EXISTS \(QualifiedName.quote(row[0] ?? "")) CASCADE;\n" }
    for row in schemas.rows { script += "DROP SCHEMA IF EXISTS \(QualifiedName.quote(row[0] ?? "")) CASCADE;\n" }
    let login = QualifiedName.quote(target.roles.login)
    // Owned by the service's owner role, which owns the database (what `pg_database_owner` stands for) and
    // which the admin is a member of; an admin that is not a superuser may not name `pg_database_owner`.
    script += """
      CREATE SCHEMA public AUTHORIZATION \(QualifiedName.quote(target.roles.owner));
      REVOKE ALL ON SCHEMA public FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO \(login);
      """
    try await admin.execute("BEGIN;\n" + script + "\nCOMMIT")
  }

  /// Before the data: each owned table's projection's changes (added columns, re-keyed columns' types, dropped
  /// columns made nullable).
  func columnChanges() throws -> [String] {
    service.tables.compactMap { catalog.table($0) }
      .flatMap { TableProjection(table: $0, service: service, catalog: catalog).preDataChanges }
  }
}
