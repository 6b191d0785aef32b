import CleaveCore
import Plan
import PostgresDriver

/// A private database where a service bound for a schema of a shared database is copied first, before it moves
/// into its schema (`cleave copy`); Cleave creates it, marks it, and drops it once the move is done.
public enum StagingDatabase {
  /// The staging database's name: `<database>_<schema>_cleave_staging` (shortened with a hash past 63 bytes), so
  /// it is unique on the server as the shared database's name is.
  public static func name(for service: ServicePlan) -> String {
    PostgresIdentifier.fit(service.database + "_" + (service.schema ?? ""), suffix: "_cleave_staging")
  }

  /// Creates the staging database (owned by the service's owner role) unless Cleave made it already.
  ///
  /// - Returns: the service as provisioned, pointing at the staging database.
  /// - Throws: `CleaveError` when a database of that name exists and is not this plan's staging database.
  public static func ensure(for service: ServicePlan, identity: PlanIdentity, roles: ServiceRoles) async throws
    -> ProvisionedService
  {
    let name = name(for: service)
    let mark = Provenance.stagingMark(service: service.name, identity: identity)
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(service.server) } catch {
      throw CleaveError(connecting: error, role: "target \"\(service.target)\" of service \"\(service.name)\"")
    }
    defer { Task { await admin.close() } }
    let quoted = try await admin.quoteIdentifier(name)
    if let comment = try await ObjectComment.database(name, on: admin) {
      guard comment == mark else {
        throw CleaveError(
          Provenance.isCleaves(comment) ? .madeForAnotherPlan : .notCreatedByCleave,
          "database \(name) exists on target \"\(service.target)\" and is not this plan's staging database: "
            + Provenance.owner(of: comment),
          hint: "drop or rename it; Cleave stages service \"\(service.name)\" there before moving it into its schema")
      }
    } else {
      try await admin.execute(
        "CREATE DATABASE \(quoted) OWNER \(try await admin.quoteIdentifier(roles.owner)) TEMPLATE template0 ENCODING 'UTF8'"
      )
      try await admin.execute("COMMENT ON DATABASE \(quoted) IS \(try await admin.quoteLiteral(mark))")
      try await admin.execute("REVOKE CONNECT, TEMPORARY ON DATABASE \(quoted) FROM PUBLIC")
    }
    return ProvisionedService(
      name: service.name, database: service.server.withDatabase(name), databaseName: name, schema: nil, roles: roles,
      created: [])
  }

  /// Drops the staging database after its service moved into the shared database.
  public static func drop(for service: ServicePlan, identity: PlanIdentity) async throws {
    let admin = try await SerialConnection.connect(service.server)
    defer { Task { await admin.close() } }
    let name = name(for: service)
    guard
      try await ObjectComment.database(name, on: admin)
        == Provenance.stagingMark(service: service.name, identity: identity)
    else { return }
    try await admin.execute("DROP DATABASE \(try await admin.quoteIdentifier(name)) WITH (FORCE)")
  }
}
